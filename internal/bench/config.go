package bench

import (
	"errors"
	"fmt"
	"github.com/mass-consensus/mass/internal/genesis"
	"time"
)

// Payloads.
const (
	PayloadRaw      = "raw"      // random bytes through the no-op application
	PayloadTransfer = "transfer" // signed transfers through the organization application
	// PayloadSale is a fair ticket sale (docs/SALE.md): open a sale,
	// stamp every buyer's request at every node, submit the requests,
	// wait for the close (sale.go).
	PayloadSale = "sale"
)

// Transports.
const (
	TransportP2P = "p2p" // separate `mass start` processes over libp2p
	TransportMem = "mem" // nodes in this process on the in-memory transport
	// TransportInproc runs the daemons of `mass start` (Pebble, libp2p,
	// the HTTP API) in this process: what a CPU profile of p2p sees.
	TransportInproc = "inproc"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("bench: bad configuration")

// Config is one benchmark run.
type Config struct {
	Nodes     int     `json:"nodes"`
	TxSize    int     `json:"tx_size"`
	Rate      float64 `json:"rate"` // transactions per second offered; 0: closed loop
	Payload   string  `json:"payload"`
	Transport string  `json:"transport"`
	// Duration is the measurement window, after Warmup.
	Duration time.Duration `json:"-"`
	Warmup   time.Duration `json:"-"`
	// Drain bounds the wait, after the window, for the window's
	// transactions to commit (their latencies count).
	Drain time.Duration `json:"-"`
	// Batch is the transactions of one submission.
	Batch int `json:"batch"`
	// Submitters is the number of concurrent submissions.
	Submitters int `json:"submitters"`
	// InFlight bounds the transactions submitted and not yet committed: the
	// closed loop keeps this many in flight; the open loop sheds what would
	// exceed it.
	InFlight int `json:"in_flight"`
	// Accounts is the number of genesis accounts of the transfer payload
	// (raised if needed so that InFlight stays within the nonce window).
	Accounts int `json:"accounts,omitempty"`
	// BatchSize, if set, overrides the genesis batch size (the
	// transactions of one epoch's proposals together).
	BatchSize int `json:"batch_size,omitempty"`
	// Agreement is the binary agreement (genesis.AgreementQuadratic, the
	// default, or genesis.AgreementBracha); Defaults writes the default's
	// name. Results from before it was recorded have none.
	Agreement string `json:"agreement,omitempty"`
	// Sale is the sale payload's settings (zero otherwise).
	Sale SaleConfig `json:"sale,omitzero"`
	// Executable is the mass binary (p2p; default: this program).
	Executable string `json:"-"`
	// Keep leaves the nodes' homes in place (p2p, inproc).
	Keep bool `json:"-"`
	// LogLevel is the nodes' log level (p2p: written to DIR/nodeI/node.log).
	LogLevel string `json:"-"`
	// CPUProfile, if set, is where the CPU profile of the measurement
	// window is written (mem or inproc: the nodes run in this process).
	CPUProfile string `json:"-"`

	// The durations in seconds, for the results.
	DurationS float64 `json:"duration_s"`
	WarmupS   float64 `json:"warmup_s"`
}

// Defaults of Config.
const (
	DefaultNodes      = 4
	DefaultTxSize     = 250
	DefaultDuration   = 20 * time.Second
	DefaultWarmup     = 3 * time.Second
	DefaultDrain      = 5 * time.Second
	DefaultBatch      = 500
	DefaultSubmitters = 4
	DefaultInFlight   = 10_000
	DefaultAccounts   = 1000
)

// Defaults fills in the zero fields.
func (c *Config) Defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Nodes, DefaultNodes)
	def(&c.TxSize, DefaultTxSize)
	def(&c.Batch, DefaultBatch)
	def(&c.Submitters, DefaultSubmitters)
	def(&c.InFlight, DefaultInFlight)
	if c.Payload == "" {
		c.Payload = PayloadRaw
	}
	if c.Transport == "" {
		c.Transport = TransportP2P
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.LogLevel == "" {
		c.LogLevel = "warn"
	}
	if c.Agreement == "" {
		c.Agreement = genesis.AgreementQuadratic
	}
	if c.Payload == PayloadSale {
		c.Sale.defaults()
	}
	if c.Payload == PayloadTransfer {
		def(&c.Accounts, DefaultAccounts)
		// Every account's transactions in flight must stay within its nonce
		// window; keep a margin for the generator's buffer.
		if need := (c.InFlight + generatorBuffer + nonceMargin - 1) / nonceMargin; c.Accounts < need {
			c.Accounts = need
		}
	}
	c.DurationS, c.WarmupS = c.Duration.Seconds(), c.Warmup.Seconds()
}

// nonceMargin is how many transactions of one account may be in flight or
// buffered at once: well within the application's nonce window (64).
const nonceMargin = 48

// Validate checks a configuration with its defaults filled in.
func (c *Config) Validate() error {
	switch {
	case c.Nodes < 1 || c.Nodes > 64:
		return fmt.Errorf("%w: %d nodes, want 1 to 64", ErrConfig, c.Nodes)
	case c.TxSize < 1 || c.TxSize > 64<<10:
		return fmt.Errorf("%w: transaction size %d, want 1 to 65536 bytes", ErrConfig, c.TxSize)
	case c.Rate < 0:
		return fmt.Errorf("%w: negative rate", ErrConfig)
	case c.Payload != PayloadRaw && c.Payload != PayloadTransfer && c.Payload != PayloadSale:
		return fmt.Errorf("%w: payload %q, want %q, %q or %q", ErrConfig, c.Payload, PayloadRaw, PayloadTransfer, PayloadSale)
	case c.Transport != TransportP2P && c.Transport != TransportMem && c.Transport != TransportInproc:
		return fmt.Errorf("%w: transport %q, want %q, %q or %q", ErrConfig, c.Transport, TransportP2P, TransportMem, TransportInproc)
	case c.Duration <= 0 || c.Warmup < 0 || c.Drain < 0:
		return fmt.Errorf("%w: the duration must be positive, the warm-up and drain not negative", ErrConfig)
	case c.Batch < 1 || c.Batch > 10_000:
		return fmt.Errorf("%w: batch of %d, want 1 to 10000", ErrConfig, c.Batch)
	case c.Submitters < 1 || c.Submitters > 256:
		return fmt.Errorf("%w: %d submitters, want 1 to 256", ErrConfig, c.Submitters)
	case c.InFlight < c.Batch:
		return fmt.Errorf("%w: in flight %d is less than a batch (%d)", ErrConfig, c.InFlight, c.Batch)
	case c.BatchSize < 0:
		return fmt.Errorf("%w: negative batch size", ErrConfig)
	case c.Agreement != "" && c.Agreement != genesis.AgreementQuadratic && c.Agreement != genesis.AgreementBracha:
		return fmt.Errorf("%w: agreement %q: want %s or %s", ErrConfig, c.Agreement, genesis.AgreementQuadratic, genesis.AgreementBracha)
	case c.CPUProfile != "" && c.Transport == TransportP2P:
		return fmt.Errorf("%w: --cpuprofile needs the nodes in this process: --transport inproc (the p2p daemons) or mem", ErrConfig)
	}
	if c.Payload == PayloadSale {
		return c.validateSale()
	}
	if c.Sale != (SaleConfig{}) {
		return fmt.Errorf("%w: --buyers, --supply, --stamp-inflight, --sale-window and --sale-max-age apply to the sale payload only", ErrConfig)
	}
	return nil
}
