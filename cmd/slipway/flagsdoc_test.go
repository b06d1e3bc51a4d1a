package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docs/flags.md names every flag of slipway serve, in its synopsis and its
// table with the flag's environment variable, and no flag serve lacks:
// the page is checked against --help.
func TestFlagsDoc_AgreesWithHelp(t *testing.T) {
	var help bytes.Buffer
	if _, err := parseServeFlags([]string{"--help"}, func(string) string { return "" }, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	doc, err := os.ReadFile("../../docs/flags.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	synopsis := text[strings.Index(text, "```"):]
	synopsis = synopsis[:strings.Index(synopsis[3:], "```")+3]
	var table strings.Builder
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "| `--") {
			table.WriteString(line)
		}
	}
	flags := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(help.String(), -1)
	if len(flags) < 20 {
		t.Fatalf("--help lists %d flags:\n%s", len(flags), help.String())
	}
	helped := map[string]bool{}
	for _, m := range flags {
		name := m[1]
		helped[name] = true
		if !strings.Contains(table.String(), "`--"+name+"`") {
			t.Errorf("--%s is not in docs/flags.md's table", name)
		}
		if name != "ssh-max-per-address" && !strings.Contains(synopsis, "--"+name+" ") && !strings.Contains(synopsis, "--"+name+"]") {
			t.Errorf("--%s is not in docs/flags.md's synopsis", name)
		}
		if env := envName(name); name != "ssh-max-per-address" && !strings.Contains(table.String(), "`"+env+"`") {
			t.Errorf("--%s's %s is not in docs/flags.md's table", name, env)
		}
	}
	for _, m := range regexp.MustCompile("`--([a-z0-9-]+)`").FindAllStringSubmatch(table.String(), -1) {
		if !helped[m[1]] {
			t.Errorf("docs/flags.md names --%s, which slipway serve does not have", m[1])
		}
	}
}
