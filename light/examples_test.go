package light

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
)

// TestExamplesBuildAndVerify builds the example programs of examples/ — a
// module of their own, which can import package light only as any
// program outside this module does — with the go command on PATH, then
// runs verify-account against a node serving a chain: it must print the
// verified account, and refuse a node that lies.
func TestExamplesBuildAndVerify(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := t.TempDir()
	for _, args := range [][]string{{"vet", "./..."}, {"build", "-o", bin + string(filepath.Separator), "./..."}} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = filepath.Join("..", "examples")
		// The committed go.mod and go.sum must do: nothing is fetched or
		// rewritten, and no other toolchain is used.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in examples/: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	f := newChain(t, 7, 3)
	genesisFile := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(genesisFile, f.genesisJSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	program := filepath.Join(bin, "verify-account")
	if runtime.GOOS == "windows" {
		program += ".exe"
	}
	run := func(api string, args ...string) (string, error) {
		args = append([]string{"--genesis", genesisFile, "--api", api}, args...)
		out, err := exec.Command(program, args...).CombinedOutput()
		return string(out), err
	}
	honest := serveFixture(t, f, nil)
	out, err := run(honest.URL, "--account", f.bob.Public().String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		`account ` + accountID(f.bob).String() + ` "bob": balance 38, role member`,
		"verified at height 7, block " + f.headers[6].Hash().String(),
		"certified by 3 of the 5 nodes (a quorum is 3)",
		"node 0  " + f.nodes[1][0].Public().String(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if out, err := run(honest.URL, "--account", accountID(f.bob).String(), "--height", "2"); err != nil || !strings.Contains(out, "balance 13") {
		t.Errorf("at height 2: %v\n%s", err, out)
	}
	liar := serveFixture(t, f, func(_ string, a any) {
		if a, ok := a.(*apijson.Account); ok {
			a.Proof.Sum += 1000
		}
	})
	if out, err := run(liar.URL, "--account", accountID(f.bob).String()); err == nil || !strings.Contains(out, "verification failed") {
		t.Errorf("a lying node: %v\n%s", err, out)
	}
}
