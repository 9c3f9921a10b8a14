import Activation
import Foundation
import Testing
import Wizard

/// How the wizard ends: F10, signals and the end of input are events, and one rule decides when — never while the
/// profile is being written or opened.
@Suite struct EndingTests {
    /// The state once the profile is on disk (what `activated` makes of `Flow.activating`).
    private func written(_ state: inout WizardState) {
        state.work = nil
        state.profileFile = Fixture.profileFile
        state.activationStage = .login
        for id in [FieldID.reference, .password, .confirmation] { state.fields[id] = filled(id, "") }
        state.passwordCheck = nil
        state.notice = .message(.profileWritten)
        state.focus = .field(.loginPassword)
    }

    @Test(arguments: [ProgramSignal.terminate, .hangUp, .interrupt])
    func aSignalEndsAtOnceOutsideTheProfilesWrite(signal: ProgramSignal) {
        var store = Flow.identity()
        store.send(.signal(signal)) { $0.ending = .signal(signal) }
        var looking = Store()
        looking.drive(.text(Fixture.link), .key(.enter))
        #expect(looking.state.work == .lookingUp)
        looking.send(.signal(signal)) { $0.ending = .signal(signal) }
    }

    @Test func aSignalDuringTheProfilesWriteWaitsForIt() {
        var store = Flow.activating()
        store.send(.signal(.terminate)) { $0.endAfterWork = .signal(.terminate) }
        store.send(.progressed(.writingProfile)) { $0.work = .activating(.writingProfile) }
        store.send(.activated(.success(Fixture.profileFile))) {
            written(&$0)
            $0.endAfterWork = nil
            $0.ending = .signal(.terminate)
        }
    }

    @Test func aSignalWhileTheProfileIsOpenedWaitsForTheLogIn() {
        var store = Flow.login()
        store.send(.text(Fixture.password)) { $0.fields[.loginPassword] = filled(.loginPassword, Fixture.password) }
        store.key(.enter, effects: [.logIn(profile: Fixture.profileFile, password: Password(Fixture.password), installProvider: false)]) {
            $0.work = .loggingIn
            $0.notice = nil
        }
        store.send(.inputEnded) { $0.endAfterWork = .inputEnded }
        store.send(.loggedIn(.success(Fixture.summary))) {
            $0.work = nil
            $0.fields[.loginPassword] = filled(.loginPassword, "")
            $0.summary = Fixture.summary
            $0.activationStage = .summary
            $0.notice = .message(.activated)
            $0.focus = .button(.finish)
            $0.endAfterWork = nil
            $0.ending = .inputEnded
        }
    }

    @Test func quittingDuringTheProfilesWriteWaitsAndSaysSo() {
        var store = Flow.activating()
        store.key(.function(10)) {
            $0.endAfterWork = .quit
            $0.notice = .message(.quitAfterWork)
        }
        store.send(.activated(.success(Fixture.profileFile))) {
            written(&$0)
            $0.endAfterWork = nil
            $0.ending = .quit
        }
    }

    @Test func aKioskIgnoresSIGINTButNotSIGTERM() {
        var store = Flow.identity(kiosk: true)
        store.send(.signal(.interrupt))
        store.send(.signal(.terminate)) { $0.ending = .signal(.terminate) }
    }

    @Test func theEndOfInputEndsTheLogInScreenAtOnce() {
        // The profile is on disk and nothing is in flight: what is printed on the way out says how to log in later.
        var store = Flow.login()
        store.send(.inputEnded) { $0.ending = .inputEnded }
    }

    @Test func theDemosReferenceFollowsTheLatestEmail() {
        var store = Store()
        store.send(.demoReference("ignored without a demo"))
        store.state.demo = DemoHints(answers: ["a", "b", "c"], reference: "ref-1")
        store.send(.demoReference("ref-2")) { $0.demo?.reference = "ref-2" }
    }
}

/// The commands the screens suggest carry the folders the program was started with (a value in the state, not a
/// process-wide setting).
@Suite struct SuggestedCommandTests {
    @Test func aSuggestedCommandCarriesTheDataDirectoryAndSurvivesAKioskReset() {
        var state = WizardState(language: .en, kiosk: true)
        state.commandOptions = CommandOptions(dataDirectory: "/srv/kiosk data", profileDirectory: "/media/usb")
        state.notice = .message(.componentBroken(.keystoreProvider))
        let text = state.notice?.text(state.localizer) ?? ""
        #expect(text.contains("paraphe components --data-dir '/srv/kiosk data' --profile-dir /media/usb"), "\(text)")
        let bare = state.notice?.text(Localizer(.en)) ?? ""
        #expect(bare.hasSuffix("run: paraphe components"), "a text without options suggests none: \(bare)")
        Kiosk.reset(&state)
        #expect(state.commandOptions.dataDirectory == "/srv/kiosk data")
    }
}
