package builder

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/slipway/slipway"
)

// maxManifestRead bounds how much of app.json or a Procfile is read: more
// than either parser accepts, so an oversized file gets the parser's error.
const maxManifestRead = 1<<20 + 1

// readManifests parses the tree's app.json and Procfile. A missing file
// gives nil; a file that does not parse fails the build with the parser's
// message.
func readManifests(dir string) (*slipway.AppJSON, slipway.Procfile, error) {
	var app *slipway.AppJSON
	data, err := readManifest(filepath.Join(dir, "app.json"))
	if err != nil {
		return nil, nil, failf(err, "read app.json: %v", err)
	}
	if data != nil {
		if app, err = slipway.ParseAppJSON(data); err != nil {
			return nil, nil, failf(err, "%v", err)
		}
	}
	var procfile slipway.Procfile
	data, err = readManifest(filepath.Join(dir, "Procfile"))
	if err != nil {
		return nil, nil, failf(err, "read Procfile: %v", err)
	}
	if data != nil {
		if procfile, err = slipway.ParseProcfile(data); err != nil {
			return nil, nil, failf(err, "%v", err)
		}
	}
	return app, procfile, nil
}

// readManifest reads up to maxManifestRead bytes of name; nil when it does
// not exist.
func readManifest(name string) ([]byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestRead))
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = []byte{} // present but empty
	}
	return data, nil
}
