package builder

import (
	"testing"
)

func TestNodeDefaultWeb(t *testing.T) {
	for _, tt := range []struct {
		name    string
		files   files
		web     string
		wantErr bool
	}{
		{"start script", files{"package.json": `{"scripts": {"start": "node app.js"}}`}, "npm start", false},
		{"server.js", files{"package.json": `{}`, "server.js": ""}, "npm start", false},
		{"neither", files{"package.json": `{"scripts": {"build": "tsc"}}`}, "", false},
		{"bad json", files{"package.json": `{`}, "", true},
		{"scripts of the wrong type", files{"package.json": `{"scripts": []}`}, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			web, hint, err := nodeDefaultWeb(dir)
			if (err != nil) != tt.wantErr || web != tt.web {
				t.Fatalf("nodeDefaultWeb = %q, %q, %v, want %q (error %v)", web, hint, err, tt.web, tt.wantErr)
			}
			if err == nil && web == "" && hint == "" {
				t.Error("no web command and no hint")
			}
		})
	}
}
