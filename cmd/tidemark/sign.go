package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tidemark/tidemark/domain/energy"
)

// cmdSign computes the signature of an energy callback body (compute) or
// tells which scheme a captured callback was signed with (detect).
func cmdSign(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "compute" && args[0] != "detect") {
		return errors.New("usage: tidemark sign compute|detect [--scheme S] --secret SECRET [--file BODY.json | < BODY.json]")
	}
	fs := flag.NewFlagSet("sign "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	scheme := fs.String("scheme", e.getenv("TIDEMARK_ENERGY_SIGN_SCHEME"), "signature scheme (compute only; default md5-kv-sorted)")
	secret := fs.String("secret", e.getenv("TIDEMARK_ENERGY_SECRET"), "the shared secret (env TIDEMARK_ENERGY_SECRET)")
	file := fs.String("file", "", "the callback body (default: standard input)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	body, err := readBody(*file, e.stdin)
	if err != nil {
		return err
	}
	if args[0] == "detect" {
		found := energy.Detect(body, *secret)
		if len(found) == 0 {
			return errors.New("no scheme matches this body and secret")
		}
		for _, s := range found {
			fmt.Fprintln(e.stdout, s)
		}
		return nil
	}
	if *scheme == "" {
		*scheme = string(energy.SchemeMD5KVSorted)
	}
	sc, err := energy.ParseScheme(*scheme)
	if err != nil {
		return err
	}
	sig, err := energy.Sign(sc, body, *secret)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, sig)
	return nil
}

func readBody(file string, stdin io.Reader) ([]byte, error) {
	if file == "" || file == "-" {
		return io.ReadAll(stdin)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return b, nil
}
