package slipway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// AppJSON is the part of an app's app.json that slipway reads. The format is
// Heroku's, with Dokku's healthchecks and cron extensions; unknown fields are
// ignored so that an app.json written for Heroku or Dokku works unchanged.
type AppJSON struct {
	Name         string                   `json:"name,omitempty"`
	Scripts      Scripts                  `json:"scripts,omitempty"`
	Formation    map[string]Formation     `json:"formation,omitempty"`
	Healthchecks map[string][]Healthcheck `json:"healthchecks,omitempty"`
	Cron         []CronJob                `json:"cron,omitempty"`
}

// Scripts are commands run around a deploy. Build is slipway's addition: it
// overrides the detected build step and runs in the release directory.
type Scripts struct {
	Build string `json:"build,omitempty"`
}

// Formation is the desired instance count of one process type. Overlap,
// slipway's addition, lets a non-web type's new instances start before the
// previous release's stop during a deploy; by default the old ones stop
// first, so a singleton worker never runs twice.
type Formation struct {
	Quantity *int `json:"quantity,omitempty"`
	Overlap  bool `json:"overlap,omitempty"`
}

// CronJob is one scheduled command, in Dokku's app.json format.
type CronJob struct {
	Command  string `json:"command"`
	Schedule string `json:"schedule"`
}

// Healthcheck is one check of Dokku's app.json "healthchecks" format. Zero
// values mean the defaults Dokku documents (see Defaults).
type Healthcheck struct {
	Type         string   `json:"type,omitempty"` // startup (default), liveness or readiness
	Name         string   `json:"name,omitempty"`
	Path         string   `json:"path,omitempty"`
	Attempts     int      `json:"attempts,omitempty"`
	Timeout      int      `json:"timeout,omitempty"`      // seconds per attempt
	Wait         int      `json:"wait,omitempty"`         // seconds between attempts
	InitialDelay int      `json:"initialDelay,omitempty"` // seconds before the first attempt
	Content      string   `json:"content,omitempty"`      // the body must contain this
	Port         int      `json:"port,omitempty"`         // defaults to the instance's PORT
	Scheme       string   `json:"scheme,omitempty"`       // http (default)
	HTTPHeaders  []Header `json:"httpHeaders,omitempty"`
}

// Header is one HTTP header a health check sends.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Health check defaults, as Dokku documents them.
const (
	DefaultHealthAttempts = 3
	DefaultHealthTimeout  = 5 * time.Second
	DefaultHealthWait     = 5 * time.Second
)

// Defaults returns the check with zero fields replaced by their defaults.
func (h Healthcheck) Defaults() Healthcheck {
	if h.Type == "" {
		h.Type = "startup"
	}
	if h.Attempts <= 0 {
		h.Attempts = DefaultHealthAttempts
	}
	if h.Timeout <= 0 {
		h.Timeout = int(DefaultHealthTimeout / time.Second)
	}
	if h.Wait <= 0 {
		h.Wait = int(DefaultHealthWait / time.Second)
	}
	if h.Scheme == "" {
		h.Scheme = "http"
	}
	if h.Path == "" {
		h.Path = "/"
	}
	return h
}

// ErrAppJSON wraps every app.json parse error.
var ErrAppJSON = errors.New("invalid app.json")

// maxAppJSONSize bounds what ParseAppJSON reads from a pushed, untrusted file.
const maxAppJSONSize = 1 << 20

// ParseAppJSON parses and checks an app.json. Errors wrap ErrAppJSON and say
// which field is wrong.
func ParseAppJSON(data []byte) (*AppJSON, error) {
	if len(data) > maxAppJSONSize {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrAppJSON, maxAppJSONSize>>20)
	}
	var a AppJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAppJSON, jsonErrorText(err))
	}
	// Not dec.More(): it reports false for a stray "}" or "]" after the object.
	if len(bytes.Trim(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, fmt.Errorf("%w: unexpected data after the top-level object", ErrAppJSON)
	}
	for typ, f := range a.Formation {
		if !processTypeRE.MatchString(typ) {
			return nil, fmt.Errorf("%w: formation: process type %q: use letters, digits, - and _", ErrAppJSON, typ)
		}
		if f.Quantity != nil && (*f.Quantity < 0 || *f.Quantity > 100) {
			return nil, fmt.Errorf("%w: formation.%s.quantity %d: use 0 to 100", ErrAppJSON, typ, *f.Quantity)
		}
	}
	for typ, checks := range a.Healthchecks {
		if !processTypeRE.MatchString(typ) {
			return nil, fmt.Errorf("%w: healthchecks: process type %q: use letters, digits, - and _", ErrAppJSON, typ)
		}
		for i, c := range checks {
			where := fmt.Sprintf("healthchecks.%s[%d]", typ, i)
			switch {
			case c.Type != "" && c.Type != "startup" && c.Type != "liveness" && c.Type != "readiness":
				return nil, fmt.Errorf("%w: %s.type %q: use startup, liveness or readiness", ErrAppJSON, where, c.Type)
			case c.Path != "" && !strings.HasPrefix(c.Path, "/"):
				return nil, fmt.Errorf("%w: %s.path %q must start with /", ErrAppJSON, where, c.Path)
			case c.Scheme != "" && c.Scheme != "http":
				return nil, fmt.Errorf("%w: %s.scheme %q: only http is supported", ErrAppJSON, where, c.Scheme)
			case c.Attempts < 0 || c.Attempts > 100, c.Timeout < 0 || c.Timeout > 600,
				c.Wait < 0 || c.Wait > 600, c.InitialDelay < 0 || c.InitialDelay > 600:
				return nil, fmt.Errorf("%w: %s: attempts, timeout, wait and initialDelay must be between 0 and 600", ErrAppJSON, where)
			case c.Port < 0 || c.Port > 65535:
				return nil, fmt.Errorf("%w: %s.port %d is not a port", ErrAppJSON, where, c.Port)
			}
		}
	}
	for i, j := range a.Cron {
		if strings.TrimSpace(j.Command) == "" || strings.TrimSpace(j.Schedule) == "" {
			return nil, fmt.Errorf("%w: cron[%d] needs a command and a schedule", ErrAppJSON, i)
		}
	}
	return &a, nil
}

// Quantity returns the formation quantity of process type typ, or def when
// app.json does not set one. A nil AppJSON has no formation.
func (a *AppJSON) Quantity(typ string, def int) int {
	if a == nil {
		return def
	}
	if f, ok := a.Formation[typ]; ok && f.Quantity != nil {
		return *f.Quantity
	}
	return def
}

// jsonErrorText turns encoding/json errors into one line that names the
// place, without Go type names a user cannot act on.
func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("the top level must be a JSON object (got %s)", typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type (got %s)", typ.Field, typ.Value)
	case errors.Is(err, io.EOF):
		return "the file is empty: want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of file: close every { and ["
	}
	return err.Error()
}
