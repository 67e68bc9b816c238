package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import org.junit.jupiter.api.Test;

/** Full-scale parameter counts, from the builders alone (nothing is generated or written). */
class ParameterCountTest {
    private static final Weights WEIGHTS = new Weights(0);

    @Test
    void unetsMatchTheReleasedModels() {
        assertThat(unet(Family.SD15)).isEqualTo(859_520_964L);
        assertThat(unet(Family.SD21)).isEqualTo(865_910_724L);
        assertThat(unet(Family.SDXL)).isEqualTo(2_567_463_684L);
    }

    @Test
    void vaeDecoderWithPostQuantConvMatchesTheReleasedModel() {
        for (Family family : Family.values()) {
            VaeConfig vae = FamilyPreset.of(family, Scale.FULL).vae();
            assertThat(VaeGraphs.decoder(vae, WEIGHTS, DType.FP16).parameterCount()).isEqualTo(49_490_199L);
        }
    }

    @Test
    void textEncodersMatchTheReleasedModels() {
        assertThat(clip(FamilyPreset.of(Family.SD15, Scale.FULL).textEncoder())).isEqualTo(123_060_480L);
        assertThat(clip(FamilyPreset.of(Family.SDXL, Scale.FULL).textEncoder())).isEqualTo(123_060_480L);
        assertThat(clip(FamilyPreset.of(Family.SD21, Scale.FULL).textEncoder())).isEqualTo(340_387_840L);
        assertThat(clip(FamilyPreset.of(Family.SDXL, Scale.FULL).textEncoder2())).isEqualTo(694_659_840L);
    }

    private static long unet(Family family) {
        return UNetGraph.build(FamilyPreset.of(family, Scale.FULL).unet(), WEIGHTS, DType.FP16).parameterCount();
    }

    private static long clip(ClipTextConfig cfg) {
        return ClipTextEncoderGraph.build(cfg, WEIGHTS, DType.FP16).parameterCount();
    }
}
