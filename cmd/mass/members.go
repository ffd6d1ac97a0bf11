package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
)

// maxMemberPages bounds the pages 'mass members' reads.
const maxMemberPages = 1000

// runMembers lists the organization's members and applicants: every page
// of GET /v1/members at the height of the first, then the counts checked
// against the organization record's. The node's word (no proofs): through
// a gateway (mass gateway) every record is verified.
func runMembers(args []string) error {
	fs := flag.NewFlagSet("members", flag.ContinueOnError)
	api := addAPIFlag(fs)
	height := fs.Uint64("height", 0, "height to read at (default: the latest certified)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("usage: mass members [--api ADDR] [--height H]")
	}
	return listMembers(context.Background(), api.client(), *height, os.Stdout)
}

// listMembers prints every member and applicant at height (0: the node's
// latest), one a line, then the counts; a list whose counts differ from
// the organization record's is an error.
func listMembers(ctx context.Context, c *client.Client, height uint64, w io.Writer) error {
	var all []orgapp.AccountView
	var org *orgapp.OrganizationView
	var after *crypto.ID
	for page := 0; ; page++ {
		if page == maxMemberPages {
			return fmt.Errorf("the member list takes more than %d pages", maxMemberPages)
		}
		m, err := c.Members(ctx, after, apijson.MaxMembers, client.At{Height: height})
		if err != nil {
			return err
		}
		height, org = m.Height, m.Organization
		all = append(all, m.Members...)
		if m.Next == "" {
			break
		}
		id, err := crypto.ParseID(m.Next)
		if err != nil {
			return fmt.Errorf("the node's next page %q: %w", m.Next, err)
		}
		after = &id
	}
	var members, applicants uint64
	for _, m := range all {
		role := m.Role
		if m.Applying {
			role += " (applying)"
			applicants++
		}
		if m.Role != "guest" {
			members++
		}
		fmt.Fprintf(w, "%s  %-22s %s\n", m.ID, role, m.Name)
	}
	fmt.Fprintf(w, "%d members and %d applicants at height %d (%s)\n", members, applicants, height, org.Name)
	if members != org.Members || applicants != org.Applicants {
		return fmt.Errorf("incomplete: the node listed %d members and %d applicants, its organization record counts %d and %d",
			members, applicants, org.Members, org.Applicants)
	}
	return nil
}
