package slipway

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
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

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want Version
		ok   bool
	}{
		{"v3", 3, true}, {"3", 3, true}, {"v12", 12, true},
		{"v0", 0, false}, {"", 0, false}, {"vv3", 0, false}, {"v-1", 0, false}, {"3a", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("ParseVersion(%q): error code %q, want EINVALID", tt.in, ErrorCode(err))
		}
	}
}

func TestShortSHA(t *testing.T) {
	if got := ShortSHA("0123456789abcdef0123", 12); got != "0123456789ab" {
		t.Errorf("ShortSHA = %q", got)
	}
	if got := ShortSHA("abc", 12); got != "abc" {
		t.Errorf("ShortSHA = %q", got)
	}
}

func TestOneLine(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"fix: the bug\nlong body", 40, "fix: the bug"},
		{"\x1b]0;pwned\x07title", 40, "?]0;pwned?title"},
		{"0123456789abc", 10, "012345678…"},
	} {
		if got := OneLine(tt.in, tt.n); got != tt.want {
			t.Errorf("OneLine(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestLimits_WithDefaults(t *testing.T) {
	if got := (Limits{}).WithDefaults(); got.PIDs != DefaultPIDs || got.Memory != 0 || got.CPU != 0 {
		t.Errorf("no limits with defaults = %+v, want pids=%d alone", got, DefaultPIDs)
	}
	if got := (Limits{PIDs: 64, Memory: 1 << 26}).WithDefaults(); got.PIDs != 64 || got.Memory != 1<<26 {
		t.Errorf("pids=64 with defaults = %+v, want it kept", got)
	}
}

func TestErrorMessage_SaysWhichDiskIsFull(t *testing.T) {
	err := fmt.Errorf("set config: %w", &fs.PathError{Op: "write", Path: "/var/lib/slipway/slipway.db", Err: syscall.ENOSPC})
	got := ErrorMessage(err)
	if !strings.Contains(got, "no space left on the disk holding /var/lib/slipway/slipway.db") || !strings.Contains(got, "free space there") {
		t.Errorf("ErrorMessage = %q", got)
	}
	err = &fs.PathError{Op: "write", Path: "/var/lib/slipway/apps/shop/home/big", Err: syscall.ENOSPC}
	if got := ErrorMessage(err); !strings.Contains(got, "shop's disk (apps:info shop says which and how full)") {
		t.Errorf("ErrorMessage of a full app disk = %q", got)
	}
	if got := ErrorMessage(errors.New("boom")); got != "internal error (see the slipway log)" {
		t.Errorf("ErrorMessage of another error = %q", got)
	}
}
