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
        System.setProperty(CachedModels.CACHE_PROPERTY, dir.resolve("cache").toString());
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

    @Test
    void calibrationTimesTheBlocksStoresThemAndLaterSplitsBalanceOnThem() throws Exception {
        CliRun calibrated = CliRun.of("split", "--model", model.toString(), "--parts", "2", "--calibrate", "--json",
                "--out", dir.resolve("calibrated").toString());
        assertThat(calibrated.exitCode()).as(calibrated.err()).isEqualTo(ExitCodes.OK);
        JsonNode planning = new ObjectMapper().readTree(calibrated.out()).get("planning");
        assertThat(planning.get("costSource").asText()).isEqualTo("measured");
        assertThat(planning.get("measuredOn").asText()).isEqualTo("onnx on cpu, default intra-op threads, all_opt");
        try (var stored = Files.list(dir.resolve("cache").resolve("splits").resolve("calibration"))) {
            assertThat(stored.toList()).singleElement().asString()
                    .endsWith("-v3-onnx_on_cpu_default_intra_op_threads_all_opt.json");
        }
        CliRun later = CliRun.of("split", "--model", model.toString(), "--parts", "3", "--json", "--out",
                dir.resolve("later").toString());
        assertThat(new ObjectMapper().readTree(later.out()).get("planning").get("costSource").asText())
                .isEqualTo("measured");
        // two CPU devices run one intra-op thread each: times taken with all threads do not balance them
        CliRun oneThreadEach = CliRun.of("split", "--model", model.toString(), "--parts", "2", "--json",
                "--devices", "cpu:0,cpu:1", "--out", dir.resolve("one-thread").toString());
        assertThat(new ObjectMapper().readTree(oneThreadEach.out()).get("planning").get("costSource").asText())
                .isEqualTo("estimate");
    }

    @Test
    void theLinkIsChargedAndPrinted() throws Exception {
        CliRun run = CliRun.of("split", "--model", model.toString(), "--parts", "2", "--link", "ethernet", "--out",
                dir.resolve("ethernet").toString());
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("over link ethernet (1.25 GB/s)").contains("per step: receives")
                .contains("cut before it: block");
        CliRun bad = CliRun.of("split", "--model", model.toString(), "--parts", "2", "--link", "carrier-pigeon");
        assertThat(bad.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(bad.err()).contains("--link: unknown link 'carrier-pigeon'");
    }

    @Test
    void aRealExportIsBoundFromItsFolderAndAnExplicitShapeWins() throws Exception {
        Path export = Path.of(System.getProperty("asyncdiff.shared.dir", "../shared"), "data", "real-exports", "sd15");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(export), "no real export at " + export);
        CliRun run = CliRun.of("split", "--model", export.toString(), "--parts", "2", "--json", "--out",
                dir.resolve("real").toString());
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        JsonNode sample = new ObjectMapper().readTree(run.out()).get("components").get(0).get("inputs").get(0);
        assertThat(sample.get("name").asText()).isEqualTo("sample");
        assertThat(sample.get("shape").toString()).isEqualTo("[1,4,32,32]");
        CliRun unbound = CliRun.of("split", "--model", export.resolve("unet/model.onnx").toString(), "--parts", "2",
                "--out", dir.resolve("unbound").toString());
        assertThat(unbound.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(unbound.err()).contains("dynamic axis 1 ('num_channels')").contains("--input-shape");
        CliRun bound = CliRun.of("split", "--model", export.resolve("unet/model.onnx").toString(), "--parts", "2",
                "--height", "256", "--input-shape", "sample=1,4,32,32", "--input-shape",
                "encoder_hidden_states=1,77,32", "--out", dir.resolve("bound").toString());
        assertThat(bound.exitCode()).as(bound.err()).isEqualTo(ExitCodes.OK);
    }
}
