package router

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"math"
	"sync"
	"time"
)

// CookieName is the name of the affinity cookie, which pins a client to one
// release and instance of an app.
const CookieName = "slipway_affinity"

// DefaultSessionTTL is how long a session stays pinned without a request
// when Config.SessionTTL is zero.
const DefaultSessionTTL = 30 * time.Minute

// Limits of what an affinity cookie can carry.
const (
	maxFieldLen = 64  // bytes of Release and of Instance
	maxAppLen   = 255 // bytes of the app name
	maxSkew     = 60  // seconds a cookie may be issued in the future (clock steps)

	tsLen       = 4  // issue time, unix seconds, big-endian uint32
	tagLen      = 16 // truncated HMAC-SHA256
	minRaw      = tsLen + 1 + tagLen
	maxPayload  = tsLen + 1 + 2*maxFieldLen
	maxRaw      = maxPayload + tagLen
	maxValueLen = (maxRaw*8 + 5) / 6 // base64 without padding
)

// b64 rejects non-zero padding bits, so every value has one encoding. It
// still skips CR and LF, which decode checks for by comparing lengths.
var b64 = base64.RawURLEncoding.Strict()

// Affinity is what an affinity cookie says: the client's session is pinned
// to instance Instance of release Release since Issued.
type Affinity struct {
	Release  string // Pool.Release, e.g. "v3"
	Instance string // Instance.ID, e.g. "web.2"; empty for a static pool
	Issued   time.Time
}

// Codec signs and verifies affinity cookie values. A value is
// base64url(payload || tag), where payload is the issue time (uint32 unix
// seconds), len(Release) as one byte, Release and Instance, and tag is the
// first 16 bytes of HMAC-SHA256(key, uvarint(len(app)) || app || payload).
// The app name is signed but not carried, so a cookie of one app is invalid
// for another; no backend address is ever carried. A Codec is safe for
// concurrent use; create one with NewCodec.
type Codec struct {
	ttl  int64     // seconds
	macs sync.Pool // of *macState, since a hash.Hash is not concurrency-safe
}

// macState is one HMAC with the buffers it needs, so that signing and
// verifying do not allocate.
type macState struct {
	h   hash.Hash
	in  [binary.MaxVarintLen64 + maxAppLen + maxPayload]byte
	sum [sha256.Size]byte
}

// NewCodec returns a Codec that signs with key (which should be 32 random
// bytes) and treats cookies issued more than ttl ago as stale. If ttl is not
// positive, DefaultSessionTTL is used.
func NewCodec(key []byte, ttl time.Duration) *Codec {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	key = bytes.Clone(key)
	c := &Codec{ttl: int64((ttl + time.Second - 1) / time.Second)}
	c.macs.New = func() any { return &macState{h: hmac.New(sha256.New, key)} }
	return c
}

// Encode returns the cookie value binding app's sessions to a. Issued is
// kept in whole seconds. It returns "" when a cannot be encoded: Release or
// Instance longer than 64 bytes, an app name longer than 255 bytes, or
// Issued outside 1970–2106.
func (c *Codec) Encode(app string, a Affinity) string {
	var buf [maxValueLen]byte
	b, ok := c.appendValue(buf[:0], app, a.Release, a.Instance, a.Issued.Unix())
	if !ok {
		return ""
	}
	return string(b)
}

// Decode verifies value as a cookie of app at time now and returns what it
// says. It reports false for any value Encode did not produce with this key
// for this app, and for one issued more than the codec's TTL before now or
// more than a minute after it; callers treat all of these as no cookie.
func (c *Codec) Decode(app, value string, now time.Time) (Affinity, bool) {
	var raw [maxRaw]byte
	t, ok := c.open(&raw, app, value, now.Unix())
	if !ok {
		return Affinity{}, false
	}
	return Affinity{Release: string(t.release), Instance: string(t.instance), Issued: time.Unix(t.issued, 0)}, true
}

// ticket is a verified cookie as the request path uses it: its fields point
// into a buffer on the caller's stack.
type ticket struct {
	release, instance []byte
	issued            int64 // unix seconds
}

// appendValue appends the cookie value for the given fields to dst.
func (c *Codec) appendValue(dst []byte, app, release, instance string, issued int64) ([]byte, bool) {
	if len(app) > maxAppLen || len(release) > maxFieldLen || len(instance) > maxFieldLen ||
		issued < 0 || issued > math.MaxUint32 {
		return dst, false
	}
	var raw [maxRaw]byte
	p := binary.BigEndian.AppendUint32(raw[:0], uint32(issued))
	p = append(p, byte(len(release)))
	p = append(p, release...)
	p = append(p, instance...)
	var tag [tagLen]byte
	c.mac(&tag, app, p)
	p = append(p, tag[:]...)
	return b64.AppendEncode(dst, p), true
}

// open verifies value as a cookie of app at now (unix seconds), decoding
// into raw, which the returned ticket points into.
func (c *Codec) open(raw *[maxRaw]byte, app, value string, now int64) (ticket, bool) {
	if len(value) > maxValueLen || len(app) > maxAppLen {
		return ticket{}, false
	}
	var src [maxValueLen]byte
	n := copy(src[:], value)
	m, err := b64.Decode(raw[:], src[:n])
	// A length mismatch means the decoder skipped CR or LF: such a value
	// is not one Encode produced.
	if err != nil || m < minRaw || b64.EncodedLen(m) != len(value) {
		return ticket{}, false
	}
	payload, tag := raw[:m-tagLen], raw[m-tagLen:m]
	issued := int64(binary.BigEndian.Uint32(payload))
	rlen := int(payload[tsLen])
	rest := payload[tsLen+1:]
	if rlen > maxFieldLen || rlen > len(rest) || len(rest)-rlen > maxFieldLen {
		return ticket{}, false
	}
	if issued > now+maxSkew || now-issued > c.ttl {
		return ticket{}, false
	}
	var want [tagLen]byte
	c.mac(&want, app, payload)
	if !hmac.Equal(want[:], tag) {
		return ticket{}, false
	}
	return ticket{release: rest[:rlen], instance: rest[rlen:], issued: issued}, true
}

// mac stores in tag the truncated MAC of payload for app.
func (c *Codec) mac(tag *[tagLen]byte, app string, payload []byte) {
	m := c.macs.Get().(*macState)
	in := binary.AppendUvarint(m.in[:0], uint64(len(app)))
	in = append(in, app...)
	in = append(in, payload...)
	m.h.Reset()
	m.h.Write(in)
	copy(tag[:], m.h.Sum(m.sum[:0]))
	c.macs.Put(m)
}
