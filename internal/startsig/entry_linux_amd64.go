package startsig

// entry is implemented in assembly and reached only as the ELF entry point.
//
//lint:ignore U1000 the linker flag EntryFlag names it
func entry()

// hasEntry: this platform has an entry point, so a build with EntryFlag
// records the start state.
const hasEntry = true
