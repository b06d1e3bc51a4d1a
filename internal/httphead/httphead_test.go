package httphead

import (
	"net/textproto"
	"testing"
)

// Every spelling the table knows maps to the name textproto makes of it.
func TestCommonKeys(t *testing.T) {
	for spelling, key := range commonKeys {
		if want := textproto.CanonicalMIMEHeaderKey(spelling); key != want {
			t.Errorf("%q maps to %q, textproto makes %q", spelling, key, want)
		}
	}
}
