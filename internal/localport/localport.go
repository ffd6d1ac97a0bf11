// Package localport finds free ports on 127.0.0.1, for tests and
// benchmarks that start networks of nodes on this machine.
package localport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// Free finds count consecutive ports free for TCP and UDP on 127.0.0.1,
// none of them avoided (avoid may be nil). The ports are free when it
// looks; the caller binds them soon after.
func Free(count int, avoid func(int) bool) (int, error) {
	for range 200 {
		base := 20000 + rand.IntN(40000-count)
		ok := true
		for p := base; p < base+count && ok; p++ {
			if avoid != nil && avoid(p) {
				ok = false
				break
			}
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
			u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			u.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("localport: no free ports on 127.0.0.1")
}
