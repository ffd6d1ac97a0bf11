package localport

import (
	"fmt"
	"net"
	"testing"
)

func TestFreeAvoidsBusyAndAvoidedPorts(t *testing.T) {
	p, err := Free(3, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the first, then ask again while avoiding the others: the answer
	// overlaps neither.
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	q, err := Free(3, func(x int) bool { return x >= p && x < p+3 })
	if err != nil {
		t.Fatal(err)
	}
	if q+3 > p && q < p+3 {
		t.Fatalf("ports %d–%d overlap the held or avoided %d–%d", q, q+2, p, p+2)
	}
	for x := q; x < q+3; x++ {
		c, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", x))
		if err != nil {
			t.Fatalf("port %d is not free: %v", x, err)
		}
		c.Close()
	}
}

func TestFreeHonoursAvoid(t *testing.T) {
	for i := 0; i < 20; i++ {
		p, err := Free(1, func(x int) bool { return x%2 == 0 })
		if err != nil {
			t.Fatal(err)
		}
		if p%2 == 0 {
			t.Fatalf("got the avoided port %d", p)
		}
	}
	// Two consecutive ports always include an even one.
	if _, err := Free(2, func(x int) bool { return x%2 == 0 }); err == nil {
		t.Fatal("found two consecutive ports none of them even")
	}
}
