package config

// Transport is how one destination is reached: the remote shell and its
// options, and the bandwidth limit. Every destination has its own; the
// top-level values are the default of the destinations that set none.
type Transport struct {
	Rsh           string // "ssh" for a host::module destination reached through ssh; "" direct TCP
	SSHKey        string // ssh -i
	SSHPort       int    // ssh -p; 0: ssh's default
	SSHKnownHosts string // ssh -o UserKnownHostsFile=
	SSHOptions    string // extra ssh options, split like a shell would
	BwLimit       string // rsync --bwlimit, in the units rsync accepts
}
