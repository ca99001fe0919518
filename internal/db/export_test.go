package db

// IsDatabase is isDatabase, for the tests.
var IsDatabase = isDatabase
