import ParapheCLI
import ParapheTestSupport

// `paraphe-testable`: the same commands as `paraphe`, for the end-to-end tests only (never installed),
// with the clock and crash points of `testHooksFromEnvironment()`.
await ParapheMain.run(hooks: testHooksFromEnvironment())
