package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.OrtRunner.Input;
import dev.asyncdiff.synthetic.OrtRunner.Output;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Full-scale folders (fp16, UNet weights in {@code model.onnx_data}) load and run in ONNX Runtime
 * CPU. Writes 2 to 7 GB per family, so it runs only with {@code -Dasyncdiff.test.full=true}.
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
}
