package slipway

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateAppName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"myapp", true},
		{"my-app-2", true},
		{"a-", true},
		{strings.Repeat("a", 63), true},
		{"a" + strings.Repeat("0", 62), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"1app", false},
		{"-app", false},
		{"MyApp", false},
		{"my_app", false},
		{"my.app", false},
		{"my app", false},
		{"my/app", false},
		{"..", false},
		{"myapp\n", false},
		{"\nmyapp", false},
		{"myapp\x00", false},
		{"ünï", false},
	}
	for _, tt := range tests {
		err := ValidateAppName(tt.name)
		if got, want := err == nil, tt.ok; got != want {
			t.Errorf("ValidateAppName(%q) = %v, want ok=%v", tt.name, err, want)
			continue
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrInvalidAppName) {
			t.Errorf("ValidateAppName(%q) = %v, want it to wrap ErrInvalidAppName", tt.name, err)
		}
		if msg := err.Error(); strings.ContainsAny(msg, "\n\r\x00") || !strings.Contains(msg, "use ") {
			t.Errorf("ValidateAppName(%q) = %q, want one line that says what to use", tt.name, msg)
		}
	}
}

func TestVersion_String(t *testing.T) {
	tests := []struct {
		v    Version
		want string
	}{
		{1, "v1"},
		{42, "v42"},
		{0, "v0"},
	}
	for _, tt := range tests {
		if got, want := tt.v.String(), tt.want; got != want {
			t.Errorf("Version(%d).String() = %q, want %q", int(tt.v), got, want)
		}
	}
}
