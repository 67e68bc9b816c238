package dev.asyncdiff.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KitReportTest {
    private final KitReport report = new KitReport("sd", "/models/x", List.of(
            new CheckResult(Check.SPLIT_EXACTNESS, CheckResult.Status.PASSED, "fine", Map.of("N=2 error", 1.5e-7)),
            new CheckResult(Check.CLOSENESS, CheckResult.Status.FAILED, "N=2 stride=1: error | too big", Map.of())));

    @Test
    void jsonNamesEveryCheckWithItsFigures() throws Exception {
        JsonNode json = new ObjectMapper().readTree(report.toJson());
        assertThat(json.get("passed").asBoolean()).isFalse();
        assertThat(json.get("checks")).hasSize(2);
        assertThat(json.get("checks").get(0).get("check").asText()).isEqualTo("split-exactness");
        assertThat(json.get("checks").get(0).get("figures").get("N=2 error").asDouble()).isEqualTo(1.5e-7);
        assertThat(json.get("checks").get(1).get("status").asText()).isEqualTo("failed");
    }

    @Test
    void markdownIsATableWithEscapedCells() {
        assertThat(report.toMarkdown()).contains("| split-exactness | passed | fine |")
                .contains("| closeness | failed | N=2 stride=1: error \\| too big |").contains("**failed**")
                .contains("| N=2 error | 1.50000e-07 |");
    }

    @Test
    void numericsCompareAndExplain() {
        float[] expected = {1, 2, 3, 4};
        assertThat(Numerics.relativeL2(expected, expected)).isZero();
        assertThat(Numerics.psnr(expected, expected)).isInfinite();
        assertThat(Numerics.psnr(new float[] {0.5f}, new float[] {0.6f})).isCloseTo(20.0, org.assertj.core.data.Offset.offset(1e-4));
        Numerics.assertAllClose(new float[] {1, 2, 3, 4.0001f}, expected, 1e-4, 0);
        assertThatThrownBy(() -> Numerics.assertAllClose(new float[] {1, 2.5f, 3, 4}, expected, 1e-3, 1e-6))
                .hasMessageContaining("element 1 differs").hasMessageContaining("actual 2.5, expected 2.0");
    }

    @Test
    void aMissingFolderOrUnknownAdapterIsAClearError() {
        assertThatThrownBy(() -> CompatibilityKit.create(new CompatibilityKit.Subject("sd", Path.of("/nonexistent"),
                Tolerances.RANDOM_WEIGHTS, 6, 64, "onnx"))).hasMessageContaining("/nonexistent");
        assertThatThrownBy(() -> CompatibilityKit.create(new CompatibilityKit.Subject("nope",
                Path.of(System.getProperty("java.io.tmpdir")), Tolerances.RANDOM_WEIGHTS, 6, 64, "onnx")))
                .hasMessageContaining("unknown adapter 'nope'").hasMessageContaining("sd");
    }
}
