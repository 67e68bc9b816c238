package dev.asyncdiff.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.synthetic.Family;
import org.junit.jupiter.api.Test;

/** The kit catches a broken adapter and says what is wrong. */
class BrokenAdapterTest {
    @Test
    void anAdapterWhoseSplitDropsASkipConnectionFailsSplitExactness() {
        CompatibilityKit kit = CompatibilityKit.create(new CompatibilityKit.Subject("broken-sd",
                SyntheticModelFolders.tiny(Family.SD21), Tolerances.RANDOM_WEIGHTS, 6, 64, "onnx"));
        CheckResult result = kit.run(Check.SPLIT_EXACTNESS);
        assertThat(result.status()).isEqualTo(CheckResult.Status.FAILED);
        assertThat(result.message()).contains("N=2").contains("components chained in order differ from the whole")
                .contains("relative L2").contains("skip connection");
        assertThat(result.figures()).containsKey("N=2 relative L2 after one step");
    }

    @Test
    void theSameAdapterWithoutTheBreakPasses() {
        CompatibilityKit kit = CompatibilityKit.create(new CompatibilityKit.Subject("sd",
                SyntheticModelFolders.tiny(Family.SD21), Tolerances.RANDOM_WEIGHTS, 6, 64, "onnx"));
        assertThat(kit.run(Check.SPLIT_EXACTNESS).status()).isEqualTo(CheckResult.Status.PASSED);
    }
}
