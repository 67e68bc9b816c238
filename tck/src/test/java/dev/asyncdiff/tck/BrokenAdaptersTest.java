package dev.asyncdiff.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.synthetic.Family;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each broken fixture (a backend with one fault, see {@link FaultyBackends} and {@link SkipDroppingBackend})
 * fails the check meant for it, while the components still reproduce the whole denoiser where the fault is
 * elsewhere: the kit tells faults apart by which check fails.
 */
class BrokenAdaptersTest {
    @ParameterizedTest(name = "{0} fails {1}")
    @CsvSource({
        "broken-onnx, SPLIT_EXACTNESS",
        "stale-timestep-onnx, CLOSENESS",
        "swapped-guidance-onnx, GUIDANCE",
        "misplacing-onnx, PLACEMENT",
        "leaking-onnx, LIFECYCLE",
    })
    void eachFaultFailsItsOwnCheck(String backend, Check check) {
        CompatibilityKit kit = CompatibilityKit.create(new CompatibilityKit.Subject("sd",
                SyntheticModelFolders.tiny(Family.SD21), Tolerances.RANDOM_WEIGHTS, 12, 64, backend));
        assertThat(kit.run(check).status()).as(check + " with " + backend).isEqualTo(CheckResult.Status.FAILED);
        if (check != Check.SPLIT_EXACTNESS) {
            assertThat(kit.run(Check.SPLIT_EXACTNESS).status()).as("split exactness with " + backend)
                    .isEqualTo(CheckResult.Status.PASSED);
        }
    }
}
