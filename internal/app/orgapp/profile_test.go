package orgapp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGovernanceProfilesAreValidGenesisSections(t *testing.T) {
	for name := range GovernanceProfiles {
		g, err := LoadGovernance(name)
		if err != nil {
			t.Fatalf("profile %s: %v", name, err)
		}
		if _, err := governanceRecords(g); err != nil {
			t.Fatalf("profile %s: %v", name, err)
		}
	}
	fast, _ := LoadGovernance("fast")
	if fast.Domains[0].Params["meeting_min"] >= 60_000 {
		t.Fatal("the fast profile lets meetings last a minute or more")
	}
}

func TestLoadGovernanceFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"domains": [{"name": "general", "params": {"active_limit": 2}}, {"name": "tech"}]}`)
	g, err := LoadGovernance(good)
	if err != nil || len(g.Domains) != 2 || g.Domains[0].Params["active_limit"] != 2 {
		t.Fatalf("a good file: %+v, %v", g, err)
	}
	for body, want := range map[string]string{
		`{"domains": [{"name": "general", "params": {"active_limit": 99}}]}`: "active_limit",
		`{"domains": [{"name": "general", "params": {"no_such": 1}}]}`:       "no_such",
		`{"domain": []}`:                      "unknown field",
		`{"domains": [{"name": "Bad Name"}]}`: "domain 0",
		`not json`:                            "invalid character",
	} {
		if _, err := LoadGovernance(write("bad.json", body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", body, err, want)
		}
	}
	if _, err := LoadGovernance(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "fast") {
		t.Errorf("a missing file: %v, want the profiles listed", err)
	}
}
