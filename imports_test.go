package slipway_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const module = "github.com/slipway/slipway"

// Every package has a doc.go whose last comment line says which of
// slipway's packages it may import, and imports no other: the domain
// none, the transports only the domain and internal helpers, and so on
// up to cmd/slipway, which wires them all.
func TestImports_EachPackageKeepsToItsDoc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		f := strings.SplitN(strings.TrimSpace(line), "\t", 3)
		pkg, dir := f[0], f[1]
		allowed, err := allowedImports(filepath.Join(dir, "doc.go"))
		if err != nil {
			t.Errorf("%s: %v", pkg, err)
			continue
		}
		if len(f) < 3 {
			continue
		}
		for _, imp := range strings.Fields(f[2]) {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			name := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if name == "" {
				name = "slipway"
			}
			if !allowed[name] && !allowed["*"] && !(allowed["internal/*"] && strings.HasPrefix(name, "internal/")) {
				t.Errorf("%s imports %s, which its doc.go does not allow", pkg, name)
			}
		}
	}
}

// allowedImports reads the "Imports:" line of a doc.go.
func allowedImports(doc string) (map[string]bool, error) {
	data, err := os.ReadFile(doc)
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "// Imports: ")
		if !ok {
			continue
		}
		allowed := map[string]bool{}
		if strings.HasPrefix(rest, "none") {
			return allowed, nil
		}
		for _, w := range strings.Split(strings.TrimSuffix(rest, "."), ",") {
			allowed[strings.TrimSpace(w)] = true
		}
		return allowed, nil
	}
	return nil, fmt.Errorf("%s has no line \"// Imports: ...\" saying which of slipway's packages it may import", doc)
}
