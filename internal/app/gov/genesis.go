package gov

import (
	"fmt"
	"sort"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
)

// GeneralDomain is the domain every organization has from genesis.
const GeneralDomain = "general"

// DomainSpec is a domain at genesis: its name and the parameters that
// differ from their defaults.
type DomainSpec struct {
	Name   string
	Params map[string]uint64
}

// Record is a record to write at genesis.
type Record struct {
	Key   state.Key
	Value []byte
}

// GenesisRecords returns governance's genesis records: the registry (next
// proposal 1, the supply), the domains ("general" first, with the specs'
// parameters if it is listed, then the others in order; their serial
// numbers from 0 in that order) and no executors.
func GenesisRecords(specs []DomainSpec, supply uint64) ([]Record, error) {
	byName := map[string]*DomainSpec{}
	names := []string{GeneralDomain}
	for i := range specs {
		sp := &specs[i]
		if err := tx.CheckIdent(sp.Name); err != nil {
			return nil, fmt.Errorf("domain %d: %w", i, err)
		}
		if byName[sp.Name] != nil {
			return nil, fmt.Errorf("domain %s is listed twice", sp.Name)
		}
		byName[sp.Name] = sp
		if sp.Name != GeneralDomain {
			names = append(names, sp.Name)
		}
	}
	if len(names) > MaxDomains {
		return nil, fmt.Errorf("%d domains, limit %d", len(names), MaxDomains)
	}
	reg := &Registry{NextID: 1, Supply: supply, NextDomain: uint32(len(names)), Domains: names}
	out := []Record{{RegistryKey, reg.Marshal()}, {ExecutorsKey, (&Executors{}).Marshal()}}
	for i, name := range names {
		d := &Domain{Name: name, Serial: uint32(i), Params: DefaultParams()}
		if sp := byName[name]; sp != nil {
			keys := make([]string, 0, len(sp.Params))
			for k := range sp.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				i, ok := ParamIndex(k)
				if !ok {
					return nil, fmt.Errorf("domain %s: there is no parameter %q", name, k)
				}
				d.Params[i] = sp.Params[k]
			}
		}
		if err := d.Params.Validate(); err != nil {
			return nil, fmt.Errorf("domain %s: %w", name, err)
		}
		out = append(out, Record{DomainKey(name), d.Marshal()})
	}
	return out, nil
}
