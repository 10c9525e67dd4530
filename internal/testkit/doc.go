// Package testkit holds helpers shared by mirrorfs tests: prerequisite checks,
// a real rsync daemon on 127.0.0.1, tree comparison and polling.
//
// Everything here runs real programs; nothing is mocked.
package testkit
