package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// mass runs the mass binary and returns its combined output.
func mass(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	return string(out), err
}

// TestTransferThenVerify commits a transfer on a four-node network of the
// organization application, then proves the new balance in a separate
// process that has only a copy of the genesis file — at the latest height
// and at the height before the transfer.
func TestTransferThenVerify(t *testing.T) {
	c := newClusterOf(t, 4, "org")
	for i := range c.procs {
		c.start(i)
	}
	keys := func(name string) string { return filepath.Join(c.dir, "keys", name+".json") }
	api := c.procs[0].api
	out, err := mass(t, "tx", "transfer", "--api", api, "--key", keys("alice"), "--to", keys("bob"), "--cosign", keys("bob"), "--amount", "25", "--wait")
	if err != nil {
		t.Fatalf("first transfer: %v\n%s", err, out)
	}
	out, err = mass(t, "tx", "transfer", "--api", api, "--key", keys("alice"), "--to", keys("bob"), "--cosign", keys("bob"), "--amount", "100", "--wait")
	if err != nil {
		t.Fatalf("second transfer: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`committed at height (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no commit height in %q", out)
	}
	// A transfer beyond the balance is refused with its reason.
	if out, err := mass(t, "tx", "transfer", "--api", api, "--key", keys("alice"), "--to", keys("bob"), "--cosign", keys("bob"), "--amount", "1000000"); err == nil || !strings.Contains(out, "less than 1000000") {
		t.Fatalf("an overdraft was not refused with its reason: %v\n%s", err, out)
	}
	c.waitFor("every node certifies the transfer", func() bool {
		for i := range c.procs {
			if st, err := c.status(i); err != nil || st.Certified < atoi(t, m[1]) {
				return false
			}
		}
		return true
	})
	// The light client's whole trust: a copy of the genesis file.
	lone := t.TempDir()
	gen, err := os.ReadFile(filepath.Join(c.procs[0].home, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	genFile := filepath.Join(lone, "genesis.json")
	if err := os.WriteFile(genFile, gen, 0o644); err != nil {
		t.Fatal(err)
	}
	bobKey := keys("bob")
	for i, want := range map[int]string{1: "has balance 10125", 3: "has balance 10125"} {
		out, err := mass(t, "verify", "--genesis", genFile, "--api", c.procs[i].api, "--account", bobKey)
		if err != nil || !strings.Contains(out, "verified: account") || !strings.Contains(out, want) {
			t.Fatalf("verify at node %d: %v\n%s", i, err, out)
		}
	}
	// The height of the first transfer: the balance then.
	before := atoi(t, m[1]) - 1
	out, err = mass(t, "verify", "--genesis", genFile, "--api", api, "--account", bobKey, "--height", itoa(before))
	if err != nil || !strings.Contains(out, "has balance 10025") {
		t.Fatalf("verify at height %d: %v\n%s", before, err, out)
	}
	// The organization and the total supply.
	out, err = mass(t, "verify", "--genesis", genFile, "--api", api, "--organization")
	if err != nil || !strings.Contains(out, "total supply 1020000") || !strings.Contains(out, "3 members") {
		t.Fatalf("verify the organization: %v\n%s", err, out)
	}
	// A genesis of another network does not verify this one's answers.
	other := strings.Replace(string(gen), `"chain_id": "e2e"`, `"chain_id": "e2f"`, 1)
	if other == string(gen) {
		t.Fatal("could not change the chain id of the genesis")
	}
	if err := os.WriteFile(genFile, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := mass(t, "verify", "--genesis", genFile, "--api", api, "--account", bobKey); err == nil {
		t.Fatalf("verified against another chain's genesis:\n%s", out)
	}
}

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
