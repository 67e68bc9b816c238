package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FamilyPresetTest {
    @Test
    void parsesFamiliesAndScalesAndNamesTheChoicesOnError() {
        assertThat(Family.parse("SDXL")).isEqualTo(Family.SDXL);
        assertThat(Scale.parse(" tiny ")).isEqualTo(Scale.TINY);
        assertThat(Family.parse(" SD3")).isEqualTo(Family.SD3);
        assertThat(Family.parse("X4-Upscaler")).isEqualTo(Family.X4_UPSCALER);
        assertThatThrownBy(() -> Family.parse("sd4")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'sd4'").hasMessageContaining("[sd15, sd21, sdxl, sd3, sd15-inpaint, sdxl-inpaint, x4-upscaler, svd, animatediff]");
        assertThatThrownBy(() -> Scale.parse("huge")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[tiny, small, full]");
    }

    @Test
    void fullPresetsCarryTheReleasedConfigurations() {
        Map<String, Object> sd15 = FamilyPreset.of(Family.SD15, Scale.FULL).unet().toDiffusersConfig();
        assertThat(sd15).containsEntry("_class_name", "UNet2DConditionModel").containsEntry("attention_head_dim", 8)
                .containsEntry("cross_attention_dim", 768).containsEntry("use_linear_projection", false)
                .containsEntry("block_out_channels", List.of(320, 640, 1280, 1280))
                .containsEntry("down_block_types", List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                        "CrossAttnDownBlock2D", "DownBlock2D"));
        Map<String, Object> sd21 = FamilyPreset.of(Family.SD21, Scale.FULL).unet().toDiffusersConfig();
        assertThat(sd21).containsEntry("attention_head_dim", List.of(5, 10, 20, 20))
                .containsEntry("cross_attention_dim", 1024).containsEntry("use_linear_projection", true);
        FamilyPreset xl = FamilyPreset.of(Family.SDXL, Scale.FULL);
        assertThat(xl.unet().toDiffusersConfig()).containsEntry("transformer_layers_per_block", List.of(1, 2, 10))
                .containsEntry("addition_embed_type", "text_time").containsEntry("addition_time_embed_dim", 256)
                .containsEntry("projection_class_embeddings_input_dim", 2816)
                .containsEntry("up_block_types", List.of("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"));
        assertThat(xl.textEncoder2().toDiffusersConfig()).containsEntry("_class_name", "CLIPTextModelWithProjection")
                .containsEntry("hidden_size", 1280).containsEntry("num_hidden_layers", 32)
                .containsEntry("hidden_act", "gelu");
        assertThat(xl.vae().toDiffusersConfig()).containsEntry("scaling_factor", 0.13025);
        assertThat(FamilyPreset.of(Family.SD21, Scale.FULL).textEncoder().toDiffusersConfig())
                .containsEntry("num_hidden_layers", 23).containsEntry("projection_dim", 512);
        assertThat(FamilyPreset.of(Family.SD15, Scale.FULL).vae().toDiffusersConfig())
                .containsEntry("scaling_factor", 0.18215).containsEntry("latent_channels", 4);
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // image UNets; SD 3, video: own tests
    void everyScaleKeepsTheFamilysStructure(Family family) {
        UNetConfig full = FamilyPreset.of(family, Scale.FULL).unet();
        for (Scale scale : Scale.values()) {
            FamilyPreset preset = FamilyPreset.of(family, scale);
            UNetConfig unet = preset.unet();
            assertThat(unet.downBlockTypes()).isEqualTo(full.downBlockTypes());
            assertThat(unet.upBlockTypes()).isEqualTo(full.upBlockTypes());
            assertThat(unet.useLinearProjection()).isEqualTo(full.useLinearProjection());
            assertThat(unet.onlyCrossAttention()).isEqualTo(full.onlyCrossAttention());
            assertThat(unet.inChannels()).isEqualTo(full.inChannels());
            assertThat(unet.hasAddEmbedding()).isEqualTo(family.base() == Family.SDXL);
            assertThat(unet.numClassEmbeds()).isEqualTo(family.upscaler() ? 1000 : 0);
            assertThat(preset.textEncoder2() != null).isEqualTo(family.base() == Family.SDXL);
            assertThat(preset.vae().downscaleFactor()).isEqualTo(family.upscaler() ? 4 : 8);
            assertThat(preset.vae().scalingFactor()).isEqualTo(FamilyPreset.of(family, Scale.FULL).vae().scalingFactor());
        }
    }

    @Test
    void fullUpscalerCarriesTheReleasedConfiguration() {
        FamilyPreset x4 = FamilyPreset.of(Family.X4_UPSCALER, Scale.FULL);
        assertThat(x4.unet().toDiffusersConfig()).containsEntry("in_channels", 7).containsEntry("out_channels", 4)
                .containsEntry("block_out_channels", List.of(256, 512, 512, 1024))
                .containsEntry("down_block_types", List.of("DownBlock2D", "CrossAttnDownBlock2D",
                        "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"))
                .containsEntry("up_block_types", List.of("CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                        "CrossAttnUpBlock2D", "UpBlock2D"))
                .containsEntry("layers_per_block", 2).containsEntry("attention_head_dim", 8)
                .containsEntry("cross_attention_dim", 1024).containsEntry("use_linear_projection", true)
                .containsEntry("only_cross_attention", List.of(true, true, true, false))
                .containsEntry("num_class_embeds", 1000).containsEntry("class_embed_type", null)
                .containsEntry("sample_size", 128).containsEntry("norm_num_groups", 32).containsEntry("norm_eps", 1e-5)
                .containsEntry("flip_sin_to_cos", true).containsEntry("freq_shift", 0)
                .doesNotContainKey("addition_embed_type_num_heads");
        assertThat(x4.unet().timeEmbedDim()).isEqualTo(1024);
        assertThat(x4.vae().toDiffusersConfig()).containsEntry("block_out_channels", List.of(128, 256, 512))
                .containsEntry("latent_channels", 4).containsEntry("layers_per_block", 2)
                .containsEntry("norm_num_groups", 32).containsEntry("scaling_factor", 0.08333);
        assertThat(x4.textEncoder()).isEqualTo(FamilyPreset.of(Family.SD21, Scale.FULL).textEncoder());
        assertThat(x4.textEncoder2()).isNull();
        assertThat(FamilyPreset.of(Family.X4_UPSCALER, Scale.TINY).unet().sampleSize()).isEqualTo(FamilyPreset.TINY_SAMPLE);
        assertThat(FamilyPreset.of(Family.SD21, Scale.FULL).unet().toDiffusersConfig())
                .as("the other families' configs keep their keys")
                .doesNotContainKeys("only_cross_attention", "num_class_embeds", "class_embed_type");
    }

    @Test
    void vocabularyFollowsTheTokenizer() {
        FamilyPreset preset = FamilyPreset.of(Family.SDXL, Scale.TINY).withVocabSize(512);
        assertThat(preset.textEncoder().vocabSize()).isEqualTo(512);
        assertThat(preset.textEncoder2().vocabSize()).isEqualTo(512);
        assertThat(preset.textEncoder().toDiffusersConfig()).containsEntry("eos_token_id", 511)
                .containsEntry("bos_token_id", 510);
    }

    @Test
    void rejectsInconsistentArchitectures() {
        UNetConfig unet = FamilyPreset.of(Family.SD15, Scale.TINY).unet();
        assertThatThrownBy(() -> new UNetConfig(64, 4, 4, List.of(32, 48), List.of("CrossAttnDownBlock2D", "DownBlock2D"),
                List.of("UpBlock2D", "CrossAttnUpBlock2D"), 1, 32, List.of(2, 2), List.of(1, 1), false, false, 32, 1e-5,
                0, 0, 77)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("norm_num_groups");
        assertThatThrownBy(() -> new UNetConfig(64, 4, 4, unet.blockOutChannels(), unet.downBlockTypes(),
                unet.downBlockTypes(), 1, 32, unet.attentionHeadDim(), unet.transformerLayersPerBlock(), false, false,
                32, 1e-5, 0, 0, 77)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("up_block_types");
        assertThatThrownBy(() -> new UNetConfig(64, 4, 4, unet.blockOutChannels(), unet.downBlockTypes(),
                unet.upBlockTypes(), 1, 32, unet.attentionHeadDim(), unet.transformerLayersPerBlock(), false, false,
                32, 1e-5, 0, 0, 77, List.of(true, false), 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[true, false]");
        assertThatThrownBy(() -> new UNetConfig(64, 4, 4, unet.blockOutChannels(), unet.downBlockTypes(),
                unet.upBlockTypes(), 1, 32, unet.attentionHeadDim(), unet.transformerLayersPerBlock(), false, false,
                32, 1e-5, 0, 0, 77, unet.onlyCrossAttention(), -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("num_class_embeds");
        assertThatThrownBy(() -> FamilyPreset.of(Family.SD15, Scale.TINY).textEncoder().withVocabSize(2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("vocab_size");
    }
}
