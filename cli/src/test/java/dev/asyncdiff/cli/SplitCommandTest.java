package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SplitCommandTest {
    @TempDir
    static Path dir;
    private static Path model;

    @BeforeAll
    static void writeModel() {
        model = dir.resolve("sd21");
        SyntheticModels.write(Family.SD21, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE, model);
    }

    @Test
    void printsThePlanAndWritesTheComponents() {
        Path out = dir.resolve("plan2");
        CliRun run = CliRun.of("split", "--model", model.toString(), "--parts", "2", "--height", "128", "--out",
                out.toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("2 component(s), costs estimated for 16x16 latents")
                .contains("component 0  conv_in ..").contains("component 1").contains(".. conv_out")
                .contains("receives sample").contains("(from component 0)").contains("sends    out_sample")
                .contains("manifest: " + out.resolve("manifest.json").toAbsolutePath());
        assertThat(out.resolve("component-0.onnx")).exists();
        assertThat(out.resolve("component-1.onnx")).exists();
    }

    @Test
    void jsonListsComponentsWithTheirTensors() throws Exception {
        Path out = dir.resolve("plan3");
        CliRun run = CliRun.of("split", "--model", model.toString(), "--parts", "3", "--out", out.toString(), "--json");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.OK);
        JsonNode json = new ObjectMapper().readTree(run.out());
        assertThat(json.get("components")).hasSize(3);
        JsonNode first = json.get("components").get(0);
        assertThat(first.get("firstUnit").asText()).isEqualTo("conv_in");
        assertThat(first.get("costShare").asDouble()).isBetween(0.0, 1.0);
        assertThat(first.get("inputs").get(0).get("name").asText()).isEqualTo("sample");
        assertThat(first.get("inputs").get(0).get("shape")).hasSize(4);
        assertThat(Path.of(json.get("manifest").asText())).isEqualTo(out.resolve("manifest.json").toAbsolutePath());
        assertThat(Files.readString(out.resolve("manifest.json"))).contains("\"format\" : \"asyncdiff-split\"");
    }

    @Test
    void badArgumentsAreClearErrors() {
        assertThat(CliRun.of("split", "--model", model.toString(), "--parts", "0").errLines()).singleElement()
                .asString().contains("--parts must be >= 1");
        assertThat(CliRun.of("split", "--model", model.toString(), "--parts", "2", "--height", "100").errLines())
                .singleElement().asString().contains("multiples of 8");
        CliRun tooMany = CliRun.of("split", "--model", model.toString(), "--parts", "500", "--out",
                dir.resolve("x").toString());
        assertThat(tooMany.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(tooMany.errLines()).singleElement().asString().contains("into 500 components");
        CliRun missing = CliRun.of("split", "--model", dir.resolve("nope").toString(), "--parts", "2");
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(missing.errLines()).singleElement().asString().contains("nope");
    }
}
