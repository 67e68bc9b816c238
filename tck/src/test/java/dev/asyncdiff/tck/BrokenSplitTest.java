package dev.asyncdiff.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.synthetic.Family;
import org.junit.jupiter.api.Test;

/** The kit catches a broken split (here from a backend that drops a skip connection) and says what is wrong. */
class BrokenSplitTest {
    @Test
    void componentsThatDropASkipConnectionFailSplitExactness() {
        CompatibilityKit kit = CompatibilityKit.create(new CompatibilityKit.Subject("sd",
                SyntheticModelFolders.tiny(Family.SD21), Tolerances.RANDOM_WEIGHTS, 6, 64, "broken-onnx"));
        CheckResult result = kit.run(Check.SPLIT_EXACTNESS);
        assertThat(result.status()).isEqualTo(CheckResult.Status.FAILED);
        assertThat(result.message()).contains("N=2").contains("components chained in order differ from the whole")
                .contains("relative L2").contains("skip connection");
        assertThat(result.figures()).containsKey("N=2 relative L2 after one step");
    }

    @Test
    void theSameAdapterOnTheUnbrokenBackendPasses() {
        CompatibilityKit kit = CompatibilityKit.create(new CompatibilityKit.Subject("sd",
                SyntheticModelFolders.tiny(Family.SD21), Tolerances.RANDOM_WEIGHTS, 6, 64, "onnx"));
        assertThat(kit.run(Check.SPLIT_EXACTNESS).status()).isEqualTo(CheckResult.Status.PASSED);
    }
}
