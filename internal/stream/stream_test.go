package stream

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServeAndRead_OutputThenVerdict(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("raw detail"), "shown to the user"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			Serve(w, func(out io.Writer) error {
				io.WriteString(out, "step 1\n")
				return tc.err
			}, func(error) string { return "shown to the user" })
		}))
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		err = Read(resp, &out)
		resp.Body.Close()
		srv.Close()
		if out.String() != "step 1\n" {
			t.Errorf("output = %q", out.String())
		}
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("verdict = %q, want %q", got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("verdict ok, want %q", tc.want)
		}
	}
}

func TestRead_CutOffAnswerHasNoVerdict(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := Read(resp, io.Discard); !errors.Is(err, ErrNoVerdict) {
		t.Errorf("err = %v, want ErrNoVerdict", err)
	}
}
