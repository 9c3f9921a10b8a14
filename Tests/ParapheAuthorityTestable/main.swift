import AuthorityServerCLI
import ParapheTestSupport

// `paraphe-authority-testable`: the same commands as `paraphe-authority`, for the end-to-end tests only
// (never installed): PARAPHE_FAKE_NOW (ISO 8601) fixes the clock.
await ParapheAuthorityMain.run(hooks: testHooksFromEnvironment())
