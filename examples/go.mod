module github.com/mass-consensus/mass/examples

go 1.26.8

require github.com/mass-consensus/mass v0.0.0

require (
	github.com/oasisprotocol/curve25519-voi v0.0.0-20230904125328-1f23a7beb09a // indirect
	golang.org/x/crypto v0.54.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace github.com/mass-consensus/mass => ../
