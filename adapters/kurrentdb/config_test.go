package kurrentdb

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIsURL(t *testing.T) {
	yes := []string{"kurrentdb://localhost:2113", "esdb://localhost:2113?tls=false", "kurrentdb+discover://c.example.com",
		"esdb+discover://c.example.com", "KurrentDB://h", "kurrent://h", "kdb://h"}
	no := []string{"postgres://u@h/db", "sqlite://./var/t.db", "./var/t.db", "http://localhost:2113", "esdb", ""}
	for _, u := range yes {
		if !IsURL(u) {
			t.Errorf("IsURL(%q) = false", u)
		}
	}
	for _, u := range no {
		if IsURL(u) {
			t.Errorf("IsURL(%q) = true", u)
		}
	}
}

func TestSplitURL(t *testing.T) {
	cases := []struct{ in, conn, prefix string }{
		{"kurrentdb://h:2113", "kurrentdb://h:2113", ""},
		{"kurrentdb://h:2113?streamPrefix=prod.", "kurrentdb://h:2113", "prod."},
		{"kurrentdb://h:2113?tls=false&StreamPrefix=t1-", "kurrentdb://h:2113?tls=false", "t1-"},
		{"esdb://a:b@h1:2113,h2:2113?tlsCAFile=/etc/ca.crt&streamprefix=x", "esdb://a:b@h1:2113,h2:2113?tlsCAFile=%2Fetc%2Fca.crt", "x"},
	}
	for _, c := range cases {
		conn, prefix, err := splitURL(c.in)
		if err != nil || conn != c.conn || prefix != c.prefix {
			t.Errorf("splitURL(%q) = %q, %q, %v; want %q, %q", c.in, conn, prefix, err, c.conn, c.prefix)
		}
	}
	if _, _, err := splitURL("kurrentdb://h?a=%zz"); err == nil {
		t.Error("a broken query was accepted")
	}
}

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"kurrentdb://admin:changeit@h:2113?tls=true": "kurrentdb://admin:xxxxx@h:2113?tls=true",
		"esdb://admin:p@ss@h1:2113,h2:2113":          "esdb://admin:xxxxx@h1:2113,h2:2113",
		"kurrentdb://admin@h:2113":                   "kurrentdb://admin@h:2113",
		"kurrentdb://h:2113?tlsCAFile=/x@y/ca.crt":   "kurrentdb://h:2113?tlsCAFile=/x@y/ca.crt",
		"not a url": "not a url",
	}
	for in, want := range cases {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tidemark test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestConfigureTLS(t *testing.T) {
	certFile, keyFile := writeCert(t)

	cfg, err := configure("kurrentdb://admin:changeit@node1:2113,node2:2113,node3:2113", Options{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DisableTLS || len(cfg.GossipSeeds) != 3 || cfg.Username != "admin" || cfg.RootCAs != nil || cfg.Logger == nil {
		t.Fatalf("cluster URL: TLS off=%v, %d seeds, user %q, CAs %v", cfg.DisableTLS, len(cfg.GossipSeeds), cfg.Username, cfg.RootCAs)
	}

	cfg, err = configure("esdb://localhost:2113?tls=false", Options{}.withDefaults())
	if err != nil || !cfg.DisableTLS || cfg.Address != "localhost:2113" {
		t.Fatalf("insecure single node: %+v, %v", cfg, err)
	}

	cfg, err = configure("kurrentdb://localhost:2113?tlsCAFile="+url.QueryEscape(certFile), Options{}.withDefaults())
	if err != nil || cfg.RootCAs == nil {
		t.Fatalf("tlsCAFile in the URL: CAs %v, %v", cfg.RootCAs, err)
	}

	opts := Options{CAFile: certFile, ClientCertFile: certFile, ClientKeyFile: keyFile, InsecureSkipVerify: true}.withDefaults()
	cfg, err = configure("kurrentdb://localhost:2113", opts)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootCAs == nil || cfg.UserCertFile != certFile || cfg.UserKeyFile != keyFile || !cfg.SkipCertificateVerification {
		t.Fatalf("options not applied: CAs %v, cert %q key %q, skip verify %v", cfg.RootCAs, cfg.UserCertFile, cfg.UserKeyFile, cfg.SkipCertificateVerification)
	}

	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := configure("kurrentdb://localhost:2113", Options{CAFile: notPEM}.withDefaults()); err == nil || !strings.Contains(err.Error(), "no PEM") {
		t.Fatalf("a CA file without certificates: %v", err)
	}
}

func TestOptions(t *testing.T) {
	o := Options{}.withDefaults()
	if o.DedupeHorizon != time.Hour || o.DedupeLimit != 1_000 || o.Concurrency != 8 || o.ImportChunk != 500 ||
		o.PollInterval != time.Second || o.Timeout != 10*time.Second || o.ConnectTimeout != 10*time.Second ||
		o.Clock == nil || o.Logger == nil {
		t.Fatalf("defaults: %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]Options{
		"system prefix":    {StreamPrefix: "$x"},
		"negative limit":   {DedupeLimit: -1},
		"negative workers": {Concurrency: -2},
		"negative chunk":   {ImportChunk: -1},
		"negative poll":    {PollInterval: -time.Second},
		"key without cert": {ClientKeyFile: "k.pem"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
