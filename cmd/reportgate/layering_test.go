package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPackageLayering holds the import rules of the module (non-test
// imports): dependencies point inward, nothing imports cmd, internal never
// imports handlers or views, the stand-ins import nothing of the product
// but static/, and only the dev wiring and test kits reach the stand-ins.
func TestPackageLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "reportgate/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "reportgate/"
	under := func(pkg, dir string) bool { return pkg == mod+dir || strings.HasPrefix(pkg, mod+dir+"/") }
	// The dev wiring: where the product meets the stand-ins.
	devWiring := func(pkg string) bool {
		return under(pkg, "cmd") || under(pkg, "internal/demo/standins") || under(pkg, "internal/testkit")
	}
	packages := 0
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		packages++
		for _, imp := range imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			var broken string
			switch {
			case under(imp, "cmd"):
				broken = "nothing imports cmd"
			case under(pkg, "internal") && (under(imp, "handlers") || under(imp, "views")):
				broken = "internal never imports handlers or views"
			case under(pkg, "internal/devstack") && !under(imp, "internal/devstack") && imp != mod+"static":
				broken = "the stand-ins import nothing of the product but static/"
			case under(imp, "internal/devstack") && !under(pkg, "internal/devstack") && !devWiring(pkg):
				broken = "product code never imports the stand-ins"
			case under(imp, "internal/testkit") && !under(pkg, "internal/testkit"):
				broken = "only tests use the test kit"
			}
			if broken != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, broken)
			}
		}
	}
	if packages < 20 {
		t.Fatalf("go list found %d packages; the module is larger than that", packages)
	}
}
