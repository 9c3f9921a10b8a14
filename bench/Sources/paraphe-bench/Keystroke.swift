import Activation
import Authority
import AuthorityInterface
import Foundation
import PasswordQuality
import ScreenModel
import Wizard
import WizardRendering

/// Row 5 of the table: one keystroke → `reduce` + `render` of an 80×24 screen, in process.
///
/// A real embedded authority (in a scratch directory, with a low answer-hash cost: the hashing is not
/// what is measured) provides a real application overview and identity verification. Each round
/// walks the wizard like a person: types the link (step 1), the three answers with Tab, the
/// hide-answers box, F2 twice, F1 and Esc (step 2), Next (step 3), then the reference number, the
/// password and its confirmation with corrections (step 5: each keystroke ticks the cheap rules; the
/// dictionary rule is asked for when typing pauses — the `typingPaused` event, timed with its redraw — and
/// when the field is left, runs off the loop (untimed, as the effect runner runs it), and its verdict's
/// redraw is timed as a keystroke; "Download and Activate" runs the whole policy, timed), the key choice
/// and "Download and Activate". Effect results (lookups, identity check, component reports) are fed back untimed, as the
/// program does.
enum KeystrokeBenchmark {
    enum Field: String, CaseIterable { case plain, password }

    struct Step {
        var event: WizardEvent
        /// Keystrokes are timed; effect results fed back are not.
        var timed: Bool
        var kind: Field
    }

    static func run(rounds: Int, scratch: URL) async throws -> [String: Any] {
        let (overview, identity, reference) = try await fixtures(in: scratch)
        let environment = WizardEnvironment(passwordPolicy: PasswordPolicy(checker: PWQualityChecker()))
        let script = steps(overview: overview, identity: identity, reference: reference)
        let keystrokesPerRound = script.filter(\.timed).count

        var total = Samples()
        var reduceOnly = Samples()
        var renderOnly = Samples()
        var byKind: [Field: Samples] = [:]
        var cold = Samples()
        var sink = 0
        for round in 0...rounds {  // round 0 is the warm-up (first use of strings, cracklib dictionary, …)
            var state = WizardState(language: .en, width: 80, height: 24)
            sink &+= render(state, width: 80, height: 24).cells.count
            var queue = script[...]
            while let step = queue.popFirst() {
                let start = nanoseconds()
                let effects = reduce(&state, step.event, environment)
                let reduced = nanoseconds()
                let screen = render(state, width: 80, height: 24)
                let end = nanoseconds()
                sink &+= effects.count &+ (screen.cursor?.column ?? 0) &+ screen.cells.count
                // The dictionary rule runs off the loop, as the program's effect runner runs it (untimed); its verdict
                // redraws the screen, timed as a keystroke is.
                for case .checkPasswordDictionary(let password, let name, let email, let edit) in effects {
                    let common = environment.passwordPolicy.isCommon(password, name: name, email: email)
                    queue.insert(Step(event: .passwordDictionaryChecked(edit: edit, common: common), timed: true, kind: .password), at: queue.startIndex)
                }
                guard step.timed else { continue }
                if round == 0 {
                    cold.add(end - start)
                    continue
                }
                total.add(end - start)
                reduceOnly.add(reduced - start)
                renderOnly.add(end - reduced)
                byKind[step.kind, default: Samples()].add(end - start)
            }
            guard state.step == .activation, case .activating = state.work else {
                throw BenchError("the keystroke script did not reach \"Download and Activate\" (step \(state.step.rawValue))")
            }
        }
        note("keystroke: \(total.line())  (reduce \(reduceOnly.line()); render \(renderOnly.line()))")
        for kind in Field.allCases { note("keystroke [\(kind.rawValue) fields]: \(byKind[kind, default: Samples()].line())") }
        note("keystroke [warm-up round, first use]: \(cold.line())")
        return [
            "measure": "keystroke",
            "rounds": rounds,
            "keystrokes_per_round": keystrokesPerRound,
            "total": total.json(),
            "reduce": reduceOnly.json(),
            "render": renderOnly.json(),
            "plain_fields": byKind[.plain, default: Samples()].json(),
            "password_fields": byKind[.password, default: Samples()].json(),
            "warmup_round": cold.json(),
            "sink": sink % 7,
        ]
    }

    /// A real overview and identity verification from an embedded authority in `scratch`.
    static func fixtures(in scratch: URL) async throws -> (ApplicationOverview, IdentityVerification, ReferenceNumber) {
        let authority = try EmbeddedAuthority(configuration: AuthorityConfiguration(
            dataDirectory: scratch, answerHashIterations: 1_000, operatorName: "bench"))
        let answers = ["Montréal", "Lyon", "Bubu"].map(SecurityAnswer.init)
        let receipt = try await authority.approve(ApprovalRequest(
            subscriber: Subscriber(name: "Jeanne Tremblay", email: "jeanne.tremblay@example.com", language: .en),
            questions: ["What was the name of your first pet?", "In which city did your parents meet?", "What was your childhood nickname?"],
            answers: answers))
        let overview = try await authority.overview(of: receipt.token)
        let identity = try await authority.verifyIdentity(token: receipt.token, answers: answers)
        return (overview, identity, receipt.reference)
    }

    static func steps(overview: ApplicationOverview, identity: IdentityVerification, reference: ReferenceNumber) -> [Step] {
        var script: [Step] = []
        func key(_ key: Key, _ kind: Field = .plain) { script.append(Step(event: .key(key), timed: true, kind: kind)) }
        func type(_ text: String, _ kind: Field = .plain) { for character in text { key(.character(character), kind) } }
        func result(_ event: WizardEvent) { script.append(Step(event: event, timed: false, kind: .plain)) }
        // The person stops typing: the dictionary rule runs and the screen is redrawn (timed, as a keystroke is).
        func pause() { script.append(Step(event: .typingPaused, timed: true, kind: .password)) }

        // Step 1: the link, typed; Tab to Next and back; Enter.
        type(overview.token.link.lowercased())
        key(.tab)
        key(.backTab)
        key(.enter)
        result(.lookedUp(.success(ApplicationLookup(overview: overview, local: .none))))
        // Step 2: three answers with Tab, the hide-answers box, F2 twice, F1 and Esc, Next.
        type("Montreal")
        key(.tab)
        type(" lyon ")
        key(.backspace)
        key(.tab)
        type("Bubu")
        key(.tab)
        key(.character(" "))
        key(.character(" "))
        key(.function(2))
        key(.function(2))
        key(.function(1))
        key(.escape)
        key(.tab)
        key(.enter)
        result(.identityChecked(.success(identity)))
        result(.componentsChecked([
            ComponentReport(kind: .activationManager, status: .installed(version: "Paraphe Activation Manager 1.0"), installable: true),
            ComponentReport(kind: .keystoreProvider, status: .installed(version: "Paraphe Keystore 1.0"), installable: false),
        ]))
        // Step 3: Next (the codes are valid, so straight to step 5).
        key(.enter)
        // Step 5: reference number as pasted from the mail (typed here), password and confirmation with
        // corrections (each keystroke runs the policy, libpwquality included), key choice, Activate.
        type(reference.formatted)
        key(.tab)
        let password = "Quartz-Lantern-Orbit-73"
        type(password, .password)
        pause()
        key(.backspace, .password)
        key(.backspace, .password)
        type(String(password.suffix(2)), .password)
        pause()
        key(.tab, .password)
        type(password, .password)
        pause()
        key(.left, .password)
        key(.right, .password)
        key(.tab, .password)
        key(.right)
        key(.left)
        key(.tab)
        key(.enter, .password)
        return script
    }
}
