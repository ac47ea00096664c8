package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

// runCLI runs the binary's entry point with the given variables.
func runCLI(vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return vars[k] })
	return code, out.String(), errOut.String()
}

// Help asked for is a success, for every command and subcommand.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"help"},
		{"serve", "-h"}, {"serve", "--help"}, {"migrate", "-h"}, {"rebuild", "-h"}, {"reconcile", "-h"}, {"simulate", "-h"},
		{"sign", "-h"}, {"sign", "compute", "-h"}, {"sign", "detect", "--help"},
		{"events", "-h"}, {"events", "export", "-h"}, {"events", "import", "-h"},
	} {
		code, _, stderr := runCLI(nil, args...)
		if code != 0 || !strings.Contains(stderr, "usage:") {
			t.Errorf("tidemark %s: exit %d, want 0 with the usage\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	if code, _, _ := runCLI(nil, "nosuchcommand"); code != 2 {
		t.Errorf("an unknown command: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(nil, "serve", "--no-such-flag"); code != 1 {
		t.Errorf("an unknown flag: exit %d, want 1", code)
	}
}

// Every command refuses positional arguments, saying what it got and, when
// it can tell, which flag was meant; nothing is opened or run.
func TestStrayArgumentsAreRefused(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "t.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rebuild", "--database-url", db, "devices"}, `unexpected argument "devices": did you mean --projection devices?`},
		{[]string{"rebuild", "--database-url", db, "orders,ledger"}, "did you mean --projection orders,ledger?"},
		{[]string{"rebuild", "--database-url", db, "2026-11-01T00:00:00Z"}, "did you mean --until 2026-11-01T00:00:00Z?"},
		{[]string{"rebuild", "--database-url", db, "devices", "--until", "2026-11-01T00:00:00Z"},
			`unexpected arguments "devices" "--until" "2026-11-01T00:00:00Z": did you mean --projection devices?`},
		{[]string{"rebuild", "--database-url", db, "--projection", "devices", "orders"}, `unexpected argument "orders": this command takes flags only`},
		{[]string{"rebuild", "--database-url", db, "everything", "-x"}, "flags go before any other argument"},
		{[]string{"serve", "--database-url", db, "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "TIDEMARK_ADDR=:9090"}, "did you mean --addr :9090?"},
		{[]string{"migrate", db}, "did you mean --database-url " + db + "?"},
		{[]string{"sign", "compute", "--secret", "s", "body.json"}, "did you mean --file body.json?"},
		{[]string{"sign", "detect", "--secret", "s", "body.json"}, "did you mean --file body.json?"},
		{[]string{"events", "export", "--database-url", db, "log.jsonl"}, "did you mean --file log.jsonl?"},
		{[]string{"events", "import", "--database-url", db, "--file", "a.jsonl", "b.jsonl"}, `unexpected argument "b.jsonl": this command takes flags only`},
		{[]string{"simulate", "http://localhost:1"}, "did you mean --url http://localhost:1?"},
		{[]string{"simulate", "500"}, "did you mean --count 500?"},
		{[]string{"reconcile", "--database-url", db, "statement.csv"}, "did you mean --statement statement.csv?"},
	} {
		code, _, stderr := runCLI(nil, tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("tidemark %s: exit %d, %q; want exit 1 saying %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("a refused command opened the database: %v", entries)
	}
}

func TestSignNeedsTheSecret(t *testing.T) {
	body := `{"orderId":"o-1","amount":"5","sign":"x"}`
	sign := func(vars map[string]string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"sign"}, args...), strings.NewReader(body), &out, &errOut,
			func(k string) string { return vars[k] })
		return code, out.String(), errOut.String()
	}
	for _, args := range [][]string{{"compute"}, {"compute", "--scheme", "md5-json"}, {"detect"}} {
		if code, _, stderr := sign(nil, args...); code != 1 || !strings.Contains(stderr, "--secret (or TIDEMARK_ENERGY_SECRET) is required") {
			t.Errorf("sign %v without a secret: exit %d, %q", args, code, stderr)
		}
	}
	if code, out, stderr := sign(nil, "compute", "--scheme", "none"); code != 0 || out != "\n" {
		t.Errorf("sign compute --scheme none without a secret: exit %d, %q %s", code, out, stderr)
	}
	want, err := energy.Sign(energy.SchemeMD5KVSorted, []byte(body), "s3")
	if err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := sign(nil, "compute", "--secret", "s3"); code != 0 || out != want+"\n" {
		t.Errorf("sign compute --secret s3: exit %d, %q, want %q %s", code, out, want, stderr)
	}
	// The flag wins over the variables, a bad scheme in the variable included.
	vars := map[string]string{"TIDEMARK_ENERGY_SECRET": "other", "TIDEMARK_ENERGY_SIGN_SCHEME": "bogus"}
	if code, out, stderr := sign(vars, "compute", "--secret", "s3", "--scheme", "md5-kv-sorted"); code != 0 || out != want+"\n" {
		t.Errorf("sign compute with flags over the variables: exit %d, %q %s", code, out, stderr)
	}
	if code, _, stderr := sign(nil, "compute", "--secret", "s3", "--scheme", "sha1"); code != 1 || !strings.Contains(stderr, `--scheme: "sha1"`) {
		t.Errorf("sign compute --scheme sha1: exit %d, %q", code, stderr)
	}
	if code, _, stderr := sign(nil, "verify"); code != 1 || !strings.Contains(stderr, `unknown subcommand "verify"`) {
		t.Errorf("sign verify: exit %d, %q", code, stderr)
	}
}

// simulate's range errors name the flag and its value.
func TestCmdSimulateErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dup-rate", "1.5"}, "--dup-rate 1.5: want 0..1"},
		{[]string{"--bad-rate", "-0.1"}, "--bad-rate -0.1: want 0..1"},
		{[]string{"--reorder-rate", "NaN"}, "--reorder-rate NaN: want 0..1"},
		{[]string{"--anomaly-rate", "2"}, "--anomaly-rate 2: want 0..1"},
		{[]string{"--reserialize-rate", "7"}, "--reserialize-rate 7: want 0..1"},
		{[]string{"--concurrency", "0"}, "--concurrency 0: want at least 1"},
		{[]string{"--timeout", "0s"}, "--timeout 0s: want a positive duration"},
		{[]string{"--devices", "20000"}, "--devices 20000: want 0 to 10000"},
		{[]string{"--devices", "0", "--orders", "0"}, "--devices 0: want at least 1 with --orders 0"},
		{[]string{"--count", "-1"}, "--count -1: want at least 0"},
		{[]string{"--rate", "-2"}, "--rate -2: want a finite number ≥ 0"},
		{[]string{"--reorder-window", "-1"}, "--reorder-window -1: want at least 0"},
		{[]string{"--step", "-1s"}, "--step -1s: want at least 0"},
	} {
		args := append([]string{"simulate", "--url", "http://127.0.0.1:1"}, tc.args...)
		code, _, stderr := runCLI(nil, args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("simulate %v: exit %d, %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}

// failingImport is a store whose Import fails.
type failingImport struct{ domain.EventStore }

func (failingImport) Import(context.Context, []domain.ImportEvent) (int64, error) {
	return 0, errors.New("disk full")
}

func TestImportEventsReportsLineAndField(t *testing.T) {
	good := `{"id":"0b8c2c39-5b5e-4ef0-8a55-7a3b5ff1b6a1","stream":"carwash.device-1","streamVersion":1,"type":"t","data":{}}`
	for _, tc := range []struct {
		name, bad, want string
	}{
		{"not JSON", `{"id":`, "line 3: not a JSON object"},
		{"an array", `[1,2]`, "line 3: not a JSON object"},
		{"streamVersion a string", `{"id":"a","stream":"s","streamVersion":"one","type":"t"}`, "line 3: streamVersion: json: cannot unmarshal string"},
		{"streamVersion 0", `{"id":"a","stream":"s","streamVersion":0,"type":"t"}`, "line 3: streamVersion: 0, want at least 1"},
		{"no id", `{"stream":"s","streamVersion":1,"type":"t"}`, "line 3: id: missing or empty"},
		{"empty stream", `{"id":"a","stream":"","streamVersion":1,"type":"t"}`, "line 3: stream: missing or empty"},
		{"no type", `{"id":"a","stream":"s","streamVersion":1}`, "line 3: type: missing or empty"},
		{"recordedAt not a time", `{"id":"a","stream":"s","streamVersion":1,"type":"t","recordedAt":"yesterday"}`, "line 3: recordedAt: "},
		{"raw not base64", `{"id":"a","stream":"s","streamVersion":1,"type":"t","raw":"!!"}`, "line 3: raw: "},
		{"metadata bad", `{"id":"a","stream":"s","streamVersion":1,"type":"t","metadata":{"receivedAt":5}}`, "line 3: metadata: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good + "\n\n" + tc.bad + "\n" + good + "\n" // a blank line 2 still counts
			read, _, err := importEvents(context.Background(), failingImport{}, strings.NewReader(in), 10)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want it to start with %q", err, tc.want)
			}
			if read != 1 {
				t.Errorf("read %d events before the bad line, want 1", read)
			}
		})
	}
	// An error of the store names the lines of the batch it refused.
	in := good + "\n" + good + "\n\n" + good + "\n"
	_, _, err := importEvents(context.Background(), failingImport{}, strings.NewReader(in), 2)
	if err == nil || err.Error() != "lines 1-2: disk full" {
		t.Errorf("store error: %v, want %q", err, "lines 1-2: disk full")
	}
}

// decodeLine reads back every field an export writes.
func TestDecodeLineRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 1, 12, 0, 0, 123000, time.UTC)
	exp := exportedEvent{ID: "id-1", Stream: "energy.order-9", StreamVersion: 3, Type: "energy.OrderUpdated", Position: "5.0",
		RecordedAt: at, Metadata: domain.Metadata{Source: "energy", ReceivedAt: at, Signature: domain.SignatureValid},
		Data: json.RawMessage(`{"a":1}`), Raw: []byte(`{"a": 1}`)}
	line, err := json.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stream != exp.Stream || got.StreamVersion != 3 || !got.RecordedAt.Equal(at) || got.ID != "id-1" || got.Type != exp.Type ||
		string(got.Data) != `{"a":1}` || string(got.Raw) != `{"a": 1}` || got.Metadata.Source != "energy" ||
		!got.Metadata.ReceivedAt.Equal(at) || got.Metadata.Signature != domain.SignatureValid {
		t.Errorf("decodeLine(%s) = %+v", line, got)
	}
}

func TestEventsImportBatchMustBePositive(t *testing.T) {
	for _, b := range []string{"0", "-1"} {
		code, _, stderr := runCLI(nil, "events", "import", "--database-url", "sqlite://"+filepath.Join(t.TempDir(), "x.db"), "--batch", b)
		if code != 1 || !strings.Contains(stderr, "--batch "+b+": want at least 1") {
			t.Errorf("--batch %s: exit %d, %q", b, code, stderr)
		}
	}
}
