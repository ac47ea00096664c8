package main

import (
	"os"
	"strings"
	"testing"
)

// The README's configuration table lists every setting, by variable and
// flag, and nothing else.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{} // variable -> flag
	for line := range strings.Lines(string(readme)) {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "TIDEMARK_") {
			continue
		}
		env, flag := strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])
		if !strings.HasPrefix(flag, "--") { // the table of settings, not another one naming a variable
			continue
		}
		documented[env] = strings.TrimPrefix(flag, "--")
	}
	for _, s := range settings {
		flag, ok := documented[s.env]
		switch {
		case !ok:
			t.Errorf("%s (--%s) is not in the README's configuration table", s.env, s.flag)
		case flag != s.flag:
			t.Errorf("README: %s is --%s, the code reads --%s", s.env, flag, s.flag)
		}
		delete(documented, s.env)
	}
	for env := range documented {
		t.Errorf("README documents %s, which the code does not read", env)
	}
}
