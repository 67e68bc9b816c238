package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.OrtRunner.Input;
import dev.asyncdiff.synthetic.OrtRunner.Output;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Full-scale folders (fp16, UNet weights in {@code model.onnx_data}) load and run in ONNX Runtime
 * CPU, and so do the full ControlNets (0.7 and 2.5 GB). Writes 2 to 7 GB per family, so it runs only with
 * {@code -Dasyncdiff.test.full=true}.
 */
@EnabledIfSystemProperty(named = "asyncdiff.test.full", matches = "true",
        disabledReason = "writes GBs of weights; enable with -Dasyncdiff.test.full=true")
class FullScaleFolderTest {
    private static final Map<Family, Long> UNET_PARAMETERS = Map.of(Family.SD15, 859_520_964L,
            Family.SD21, 865_910_724L, Family.SDXL, 2_567_463_684L);

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SD21", "SDXL"}) // the base UNet families; inpainting in ParameterCountTest
    void fullFolderWithExternalUnetDataRuns(Family family) throws Exception {
        SyntheticFolder folder = SyntheticModels.write(family, Scale.FULL, SyntheticModels.defaultDType(Scale.FULL),
                0, TokenizerKind.defaultKind(), dir.resolve(family.cliName()));
        assertThat(folder.dtype()).isEqualTo(DType.FP16);
        assertThat(folder.parameterCounts()).containsEntry("unet", UNET_PARAMETERS.get(family))
                .containsEntry("vae_decoder", 49_490_199L);
        Path root = folder.directory();
        long unetBytes = 2 * UNET_PARAMETERS.get(family);
        assertThat(Files.size(root.resolve("unet/model.onnx_data"))).isBetween(unetBytes * 99 / 100, unetBytes + (64L << 20));
        assertThat(Files.size(root.resolve("unet/model.onnx"))).isLessThan(16L << 20);
        FamilyPreset preset = FamilyPreset.of(family, Scale.FULL).withVocabSize(folder.vocabSize());
        SyntheticModelsTest.checkTextEncoder(root.resolve("text_encoder/model.onnx"), preset.textEncoder());
        Output unet = SyntheticModelsTest.runUnet(root.resolve("unet/model.onnx"), preset.unet());
        unet.assertFiniteAndVaried(family + " full out_sample");
        Map<String, Output> decoded = OrtRunner.run(root.resolve("vae_decoder/model.onnx"), Map.of("latent_sample",
                Input.random(5, 1, preset.vae().latentChannels(), 8, 8)));
        decoded.get("sample").assertFiniteAndVaried(family + " full sample");
    }

    /** Full-scale ControlNets (fp16, weights in {@code model.onnx_data}): released parameter counts, and they run. */
    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SDXL"})
    void fullControlNetFolderWithExternalDataRuns(Family family) throws Exception {
        long parameters = family == Family.SD15 ? 361_279_120L : 1_251_014_160L;
        ControlNetFolder folder = SyntheticModels.writeControlNet(family, Scale.FULL, SyntheticModels.defaultDType(Scale.FULL),
                0, dir.resolve(family.cliName() + "-controlnet"));
        assertThat(folder.parameterCount()).isEqualTo(parameters);
        Path model = folder.directory().resolve("model.onnx");
        assertThat(Files.size(folder.directory().resolve("model.onnx_data")))
                .isBetween(2 * parameters * 99 / 100, 2 * parameters + (64L << 20));
        UNetConfig unet = FamilyPreset.of(family, Scale.FULL).unet();
        Map<String, Input> inputs = new LinkedHashMap<>();
        inputs.put("sample", Input.random(1, 1, 4, 8, 8));
        inputs.put("timestep", Input.of(i -> 981));
        inputs.put("encoder_hidden_states", Input.random(2, 1, 77, unet.crossAttentionDim()));
        if (family == Family.SDXL) {
            inputs.put("text_embeds", Input.random(3, 1, unet.textEmbedsDim()));
            double[] timeIds = {1024, 1024, 0, 0, 1024, 1024};
            inputs.put("time_ids", Input.of(i -> timeIds[(int) i], 1, 6));
        }
        inputs.put("controlnet_cond", Input.of(i -> (i % 5) / 5.0, 1, 3, 64, 64));
        inputs.put("conditioning_scale", Input.of(i -> 1.0, 1));
        Map<String, Output> residuals = OrtRunner.run(model, inputs);
        assertThat(residuals).hasSize(unet.downResidualChannels().size() + 1);
        residuals.forEach((name, residual) -> residual.assertFiniteAndVaried(family + " full " + name));
    }
}
