package router

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// codecNow is the time the codec tests decode at.
var codecNow = time.Unix(1_700_000_000, 0)

func TestCodec_RoundTrip(t *testing.T) {
	c := testCodec()
	long := strings.Repeat("x", maxFieldLen)
	for _, a := range []Affinity{
		{Release: "v3", Instance: "web.2", Issued: codecNow},
		{Release: "v12", Instance: "", Issued: codecNow.Add(-time.Minute)}, // a static pool
		{Release: "", Instance: "web.1", Issued: codecNow},
		{Release: long, Instance: long, Issued: codecNow},
		{Release: "v\x00;\"é", Instance: "a b,c", Issued: codecNow}, // any bytes: the value is base64
	} {
		v := c.Encode("web", a)
		if v == "" {
			t.Fatalf("Encode(%+v) = \"\"", a)
		}
		if strings.ContainsAny(v, " ;,\"\\=") {
			t.Errorf("Encode(%+v) = %q, which is not a plain cookie value", a, v)
		}
		got, ok := c.Decode("web", v, codecNow)
		if !ok {
			t.Fatalf("Decode(Encode(%+v)) failed", a)
		}
		if got.Release != a.Release || got.Instance != a.Instance || !got.Issued.Equal(a.Issued) {
			t.Errorf("Decode(Encode(%+v)) = %+v", a, got)
		}
	}
}

func TestCodec_IsCompactAndKeepsSeconds(t *testing.T) {
	c := testCodec()
	v := c.Encode("web", Affinity{Release: "v3", Instance: "web.2", Issued: codecNow.Add(700 * time.Millisecond)})
	if len(v) > 48 {
		t.Errorf("value %q is %d bytes, want at most 48", v, len(v))
	}
	a, ok := c.Decode("web", v, codecNow)
	if !ok || !a.Issued.Equal(codecNow) {
		t.Errorf("Decode = %+v, %v; want Issued %v (whole seconds)", a, ok, codecNow)
	}
}

func TestCodec_RejectsTamperedValues(t *testing.T) {
	c := testCodec()
	v := c.Encode("web", Affinity{Release: "v3", Instance: "web.2", Issued: codecNow})
	raw, err := b64.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	// Every bit of every byte of the signed payload and of the tag.
	for i := range raw {
		for bit := range 8 {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			if _, ok := c.Decode("web", b64.EncodeToString(b), codecNow); ok {
				t.Errorf("byte %d with bit %d flipped: accepted", i, bit)
			}
		}
	}
	// Every character replaced by every other, including ones outside
	// the alphabet.
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. \r\n\x00\xff"
	for i := range len(v) {
		for _, ch := range []byte(chars) {
			if ch == v[i] {
				continue
			}
			w := v[:i] + string(ch) + v[i+1:]
			if _, ok := c.Decode("web", w, codecNow); ok {
				t.Errorf("%q with character %d replaced by %q: accepted", v, i, ch)
			}
		}
	}
	// A line break, which base64 decoders skip, makes a different value.
	if _, ok := c.Decode("web", v[:8]+"\n"+v[8:], codecNow); ok {
		t.Error("value with an inserted line break: accepted")
	}
}

func TestCodec_RejectsTruncatedAndExtendedValues(t *testing.T) {
	c := testCodec()
	v := c.Encode("web", Affinity{Release: "v3", Instance: "web.2", Issued: codecNow})
	for i := range len(v) {
		if _, ok := c.Decode("web", v[:i], codecNow); ok {
			t.Errorf("prefix %q of %q: accepted", v[:i], v)
		}
	}
	for _, w := range []string{v + "A", v + "AA", v + "AAAA", "A" + v, v + v, strings.Repeat("A", 10_000)} {
		if _, ok := c.Decode("web", w, codecNow); ok {
			t.Errorf("%q: accepted", w)
		}
	}
}

func TestCodec_RejectsForeignKeyAndOtherApp(t *testing.T) {
	c := testCodec()
	a := Affinity{Release: "v3", Instance: "web.2", Issued: codecNow}
	foreign := NewCodec([]byte("another key, just as long as ours"), DefaultSessionTTL).Encode("web", a)
	if _, ok := c.Decode("web", foreign, codecNow); ok {
		t.Error("cookie signed with another key: accepted")
	}
	v := c.Encode("web", a)
	for _, app := range []string{"api", "we", "webb", "WEB", ""} {
		if _, ok := c.Decode(app, v, codecNow); ok {
			t.Errorf("cookie of app web accepted for app %q", app)
		}
	}
}

func TestCodec_RejectsExpiredAndFutureValues(t *testing.T) {
	const ttl = 10 * time.Minute
	c := NewCodec(testKey, ttl)
	for _, tc := range []struct {
		age  time.Duration
		want bool
	}{
		{0, true},
		{ttl, true},
		{ttl + time.Second, false},
		{240 * time.Hour, false},
		{-30 * time.Second, true}, // the clock stepped back a little
		{-2 * time.Minute, false},
		{-24 * time.Hour, false},
	} {
		v := c.Encode("web", Affinity{Release: "v3", Instance: "web.2", Issued: codecNow.Add(-tc.age)})
		if _, ok := c.Decode("web", v, codecNow); ok != tc.want {
			t.Errorf("cookie issued %v before now: accepted %v, want %v", tc.age, ok, tc.want)
		}
	}
}

func TestCodec_EncodeRefusesWhatItCannotCarry(t *testing.T) {
	c := testCodec()
	long := strings.Repeat("x", maxFieldLen+1)
	for name, tc := range map[string]struct {
		app string
		a   Affinity
	}{
		"long release":    {"web", Affinity{Release: long, Instance: "web.1", Issued: codecNow}},
		"long instance":   {"web", Affinity{Release: "v1", Instance: long, Issued: codecNow}},
		"long app":        {strings.Repeat("a", maxAppLen+1), Affinity{Release: "v1", Issued: codecNow}},
		"zero time":       {"web", Affinity{Release: "v1"}},
		"after year 2106": {"web", Affinity{Release: "v1", Issued: time.Unix(1<<32, 0)}},
	} {
		if v := c.Encode(tc.app, tc.a); v != "" {
			t.Errorf("%s: Encode = %q, want \"\"", name, v)
		}
	}
}

func FuzzDecode(f *testing.F) {
	c := testCodec()
	for _, a := range []Affinity{
		{Release: "v3", Instance: "web.2", Issued: codecNow},
		{Release: "v1", Issued: codecNow.Add(-time.Minute)},
		{Release: strings.Repeat("r", maxFieldLen), Instance: strings.Repeat("i", maxFieldLen), Issued: codecNow},
	} {
		f.Add("web", c.Encode("web", a))
	}
	f.Add("web", "")
	f.Add("api", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("web", "not base64!")
	f.Fuzz(func(t *testing.T, app, value string) {
		a, ok := c.Decode(app, value, codecNow)
		if !ok {
			return
		}
		if got := c.Encode(app, a); got != value {
			t.Fatalf("Decode(%q, %q) = %+v, which encodes to %q", app, value, a, got)
		}
	})
}

func BenchmarkCodec_Decode(b *testing.B) {
	c := testCodec()
	v := c.Encode("web", Affinity{Release: "v3", Instance: "web.2", Issued: codecNow})
	var raw [maxRaw]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.open(&raw, "web", v, codecNow.Unix()); !ok {
			b.Fatal("cookie does not verify")
		}
	}
}
