package builder

import (
	"path/filepath"
	"strings"

	"github.com/slipway/slipway"
)

// defaultHint is what a release with no process types is told to add.
const defaultHint = "add a Procfile (web: COMMAND)"

// processTypes returns the release's process types and, for a static site,
// its directory as it will be named in s.final. The Procfile's web line
// wins over the kind's default web command. A release other than a static
// site needs at least one process type, and a Python app a web one.
func (s *session) processTypes(det detection, procfile slipway.Procfile) (slipway.Procfile, string, error) {
	s.out.header("Discovering process types")
	if len(procfile) > 0 {
		s.out.info("Procfile declares types -> %s", typeNames(procfile))
	}
	if det.kind == KindStatic {
		return procfile, filepath.Join(s.final, det.staticDir), nil
	}
	if _, ok := procfile.Command("web"); ok {
		return procfile, "", nil
	}

	var web, hint string
	switch det.kind {
	case KindGo:
		web, hint = goDefaultWeb(s.tmp)
	case KindNode:
		var err error
		if web, hint, err = nodeDefaultWeb(s.tmp); err != nil {
			return nil, "", failf(err, "%v", err)
		}
	case KindPython:
		return nil, "", failf(nil, pythonNoWeb)
	case KindCustom:
		// A build script may generate a static site rather than a server.
		if sd := findStaticDir(s.tmp); sd != "" && len(procfile) == 0 {
			s.out.info("No process types: serving %s as a static site", filepath.Join(sd, "index.html"))
			return nil, filepath.Join(s.final, sd), nil
		}
	}
	if web != "" {
		s.out.info("Default types for %s -> web", det.label)
		procfile = append(slipway.Procfile{{Type: "web", Command: web}}, procfile...)
	}
	if len(procfile) == 0 {
		if hint == "" {
			hint = defaultHint
		}
		return nil, "", failf(nil, "no process types: %s", hint)
	}
	return procfile, "", nil
}

func typeNames(p slipway.Procfile) string {
	names := make([]string, len(p))
	for i, proc := range p {
		names[i] = proc.Type
	}
	return strings.Join(names, ", ")
}
