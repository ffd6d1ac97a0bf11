package node

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/wal"
)

var _ Journal = (*wal.Log)(nil)

// OpenJournal opens the epoch log in dir (on fs: wal.OSFS() on disk, a
// wal.MemFS in tests and the simulator) and returns it with the records
// it holds, for Config.Journal and Config.Logged. A torn tail a crash
// left is cut off.
func OpenJournal(dir string, fs wal.FS) (*wal.Log, []ledger.LogRecord, error) {
	log, recs, _, err := wal.Open(dir, wal.Options{FS: fs})
	if err != nil {
		return nil, nil, fmt.Errorf("node: opening the journal: %w", err)
	}
	logged := make([]ledger.LogRecord, len(recs))
	for i, r := range recs {
		logged[i] = ledger.LogRecord{Epoch: r.Epoch, Data: r.Data}
	}
	return log, logged, nil
}
