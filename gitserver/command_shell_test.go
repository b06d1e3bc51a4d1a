package gitserver

import (
	"reflect"
	"strings"
	"testing"
)

// What a client's shell delivers for the documented forms works: run's
// command is a script for the app's shell when it needs one, and an
// argument such as *.example.com needs no quoting.
func TestParseCommand_WhatAShellDelivers(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want Command
	}{
		// ssh HOST run shop 'echo $PORT && ls'
		{"run shop echo $PORT && ls", Command{"run", []string{"shop", "echo $PORT && ls"}}},
		{"run shop -- echo $PORT", Command{"run", []string{"shop", "echo $PORT"}}},
		{"run:detached shop sleep 1; echo done", Command{"run:detached", []string{"shop", "sleep 1; echo done"}}},
		{"run shop ls *.py", Command{"run", []string{"shop", "ls *.py"}}},
		// Plain and quoted words are parsed as before.
		{"run shop echo hi", Command{"run", []string{"shop", "echo", "hi"}}},
		{"run shop 'echo $PORT'", Command{"run", []string{"shop", "echo $PORT"}}},
		{"run shop -- ls -la", Command{"run", []string{"shop", "--", "ls", "-la"}}},
		// ssh HOST domains:remove hello '*.example.org'
		{"domains:remove hello *.example.org", Command{"domains:remove", []string{"hello", "*.example.org"}}},
		{"domains:add hello shop.example.com *.example.com", Command{"domains:add", []string{"hello", "shop.example.com", "*.example.com"}}},
	} {
		got, err := ParseCommand(tt.raw)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCommand(%q) = %#v, %v; want %#v", tt.raw, got, err, tt.want)
		}
	}
}

// What stays ambiguous is refused, showing the words slipway received.
func TestParseCommand_RefusalShowsWhatWasReceived(t *testing.T) {
	_, err := ParseCommand("config:set shop A=1; config:set shop B=2")
	if err == nil || !strings.Contains(err.Error(), `unquoted ";"`) || !strings.Contains(err.Error(), "slipway received: config:set shop A=1; config:set shop B=2") {
		t.Errorf("err = %v", err)
	}
}
