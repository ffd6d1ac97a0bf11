package orgapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mass-consensus/mass/internal/app/gov"
)

// GovernanceProfiles are named governance sections for `mass init` and
// `mass devnet` (--governance NAME): "fast" makes every governance phase
// last seconds (a proposal gathers participants for 5 s before its
// meeting), for trying the whole lifecycle in a few minutes; "default"
// is the domain general with the parameters of docs/GOVERNANCE.md.
var GovernanceProfiles = map[string]GenesisGovernance{
	"default": {},
	"fast": {Domains: []GenesisDomain{{Name: "general", Params: map[string]uint64{
		"active_limit":      4,
		"gather_min":        5 * gov.Second,
		"queue_expiry":      gov.Hour,
		"meeting_min":       gov.Second,
		"publicity_min":     gov.Second,
		"publicity_unit":    gov.Second,
		"publicity_floor":   gov.Second,
		"publicity_ceiling": gov.Minute,
		"review_window":     30 * gov.Second,
	}}}},
}

// LoadGovernance returns the governance section that spec names: a profile
// of GovernanceProfiles, or a JSON file holding a genesis "governance"
// section ({"domains": [{"name": …, "params": {…}}]}). It checks the
// section as a genesis would.
func LoadGovernance(spec string) (*GenesisGovernance, error) {
	if p, ok := GovernanceProfiles[spec]; ok {
		return &p, nil
	}
	data, err := os.ReadFile(spec)
	if err != nil {
		return nil, fmt.Errorf("governance %q is neither a profile (%s) nor a readable file: %w", spec, profileNames(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g GenesisGovernance
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("governance file %s: %w", spec, err)
	}
	if _, err := governanceRecords(&g); err != nil {
		return nil, fmt.Errorf("governance file %s: %w", spec, err)
	}
	return &g, nil
}

func profileNames() string {
	var names []string
	for n := range GovernanceProfiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// governanceRecords checks a governance section as a genesis would.
func governanceRecords(g *GenesisGovernance) ([]gov.Record, error) {
	var specs []gov.DomainSpec
	for _, d := range g.Domains {
		specs = append(specs, gov.DomainSpec{Name: d.Name, Params: d.Params})
	}
	return gov.GenesisRecords(specs, 0)
}
