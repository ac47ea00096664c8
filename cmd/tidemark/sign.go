package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tidemark/tidemark/domain/energy"
)

const signUsage = "tidemark sign compute|detect [--scheme S] --secret SECRET [--file BODY.json | < BODY.json]"

// cmdSign computes the signature of an energy callback body (compute) or
// tells which scheme a captured callback was signed with (detect). Both
// need the secret, except compute with --scheme none (which signs nothing).
func cmdSign(ctx context.Context, args []string, e env) error {
	sub, err := subcommand(args, e, signUsage, "compute", "detect")
	if err != nil {
		return err
	}
	fs := newFlagSet("sign "+sub, "sign "+sub+" [flags] [< BODY.json]", e)
	var scheme *string
	if sub == "compute" {
		scheme = fs.String("scheme", envOr(e.getenv, "TIDEMARK_ENERGY_SIGN_SCHEME", string(energy.DefaultScheme)),
			"md5-kv-sorted, md5-kv-sorted-raw, md5-json or none (env TIDEMARK_ENERGY_SIGN_SCHEME)")
	}
	secret := fs.String("secret", e.getenv("TIDEMARK_ENERGY_SECRET"), "the shared secret (env TIDEMARK_ENERGY_SECRET)")
	file := fs.String("file", "", "the callback body (default: standard input)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs, suggestFlag(fs, "file")); err != nil {
		return err
	}
	if sub == "detect" {
		return detectScheme(*secret, *file, e)
	}
	return computeSignature(*scheme, *secret, *file, e)
}

// errNoSecret: compute or detect without a secret.
var errNoSecret = errors.New("--secret (or TIDEMARK_ENERGY_SECRET) is required")

func computeSignature(scheme, secret, file string, e env) error {
	sc, err := energy.ParseScheme(scheme)
	if err != nil {
		return fmt.Errorf("--scheme: %w", err)
	}
	if secret == "" && sc != energy.SchemeNone {
		return fmt.Errorf("%w to sign with %s", errNoSecret, sc)
	}
	body, err := readBody(file, e.stdin)
	if err != nil {
		return err
	}
	sig, err := energy.Sign(sc, body, secret)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, sig)
	return nil
}

func detectScheme(secret, file string, e env) error {
	if secret == "" {
		return fmt.Errorf("%w to detect a scheme", errNoSecret)
	}
	body, err := readBody(file, e.stdin)
	if err != nil {
		return err
	}
	found := energy.Detect(body, secret)
	if len(found) == 0 {
		return errors.New("no scheme matches this body and secret")
	}
	for _, s := range found {
		fmt.Fprintln(e.stdout, s)
	}
	return nil
}

func readBody(file string, stdin io.Reader) ([]byte, error) {
	if file == "" || file == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return b, nil
}
