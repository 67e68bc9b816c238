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

    /**
     * The inpainting checkpoints (runwayml/stable-diffusion-inpainting, diffusers/stable-diffusion-xl-1.0-inpainting-0.1)
     * publish the base model's {@code unet/config.json} with {@code in_channels} 9 instead of 4: only conv_in's
     * weight grows, by (9 − 4) · 320 · 3 · 3 = 14,400 parameters.
     */
    @Test
    void inpaintingUnetsAddFiveInputChannelsToConvIn() {
        assertThat(unet(Family.SD15_INPAINT)).isEqualTo(859_520_964L + 14_400L);
        assertThat(unet(Family.SDXL_INPAINT)).isEqualTo(2_567_463_684L + 14_400L);
        assertThat(FamilyPreset.of(Family.SDXL_INPAINT, Scale.TINY).unet().toDiffusersConfig())
                .containsEntry("in_channels", 9).containsEntry("out_channels", 4);
        assertThat(PipelineIndex.of(Family.SDXL_INPAINT)).containsEntry("_class_name", "StableDiffusionXLInpaintPipeline");
        assertThat(SchedulerConfigs.of(Family.SD15_INPAINT)).isEqualTo(SchedulerConfigs.of(Family.SD15));
    }

    @Test
    void vaeDecoderWithPostQuantConvMatchesTheReleasedModel() {
        for (Family family : new Family[] {Family.SD15, Family.SD21, Family.SDXL}) {
            VaeConfig vae = FamilyPreset.of(family, Scale.FULL).vae();
            assertThat(VaeGraphs.decoder(vae, WEIGHTS, DType.FP16).parameterCount()).isEqualTo(49_490_199L);
        }
    }

    /**
     * SD 3 Medium's {@code SD3Transformer2DModel}: 2,028,328,000 trainable parameters, derived from
     * the published {@code transformer/config.json} of stabilityai/stable-diffusion-3-medium-diffusers
     * (num_layers 24, attention_head_dim 64, num_attention_heads 24, patch_size 2, in_channels 16,
     * joint_attention_dim 4096, caption_projection_dim 1536, pooled_projection_dim 2048,
     * pos_embed_max_size 192, out_channels 16) through diffusers' modules, with C = 24 * 64 = 1536:
     * <ul>
     * <li>pos_embed.proj, Conv2d(16, C, 2, stride 2): 16*2*2*C + C = 99,840;
     * <li>time_text_embed.timestep_embedder, Linear(256, C) and Linear(C, C): 256C + C + C^2 + C = 2,755,584;
     * <li>time_text_embed.text_embedder, Linear(2048, C) and Linear(C, C): 2048C + C + C^2 + C = 5,508,096;
     * <li>context_embedder, Linear(4096, 1536): 6,292,992;
     * <li>each of blocks 0..22: norm1 and norm1_context (AdaLayerNormZero, Linear(C, 6C)) 2 * 14,164,992,
     *     attn (to_q/k/v, add_q/k/v_proj, to_out.0, to_add_out: 8 Linear(C, C)) 18,886,656, ff and ff_context
     *     (Linear(C, 4C), Linear(4C, C)) 2 * 18,882,048: 84,980,736, times 23 = 1,954,556,928;
     * <li>block 23 (context pre-only): norm1 14,164,992, norm1_context (AdaLayerNormContinuous, Linear(C, 2C))
     *     4,721,664, attn without to_add_out 16,525,824, ff 18,882,048: 54,294,528;
     * <li>norm_out (Linear(C, 2C)) 4,721,664 and proj_out (Linear(C, 2*2*16)) 98,368.
     * </ul>
     * The sum is diffusers' {@code num_parameters()} for the released model. The graph also holds the
     * persistent buffer {@code pos_embed.pos_embed}, 192 * 192 * C = 56,623,104 values, which the
     * checkpoint stores and an export keeps as an initializer but which is not a parameter.
     */
    @Test
    void sd3TransformerMatchesTheReleasedModel() {
        Sd3TransformerConfig cfg = FamilyPreset.of(Family.SD3, Scale.FULL).transformer();
        long block = 2 * 14_164_992L + 18_886_656L + 2 * 18_882_048L;
        long lastBlock = 14_164_992L + 4_721_664L + 16_525_824L + 18_882_048L;
        long expected = 99_840L + 2_755_584L + 5_508_096L + 6_292_992L + 23 * block + lastBlock + 4_721_664L + 98_368L;
        assertThat(expected).isEqualTo(2_028_328_000L);
        long buffer = Sd3TransformerGraph.positionBufferSize(cfg);
        assertThat(buffer).isEqualTo(56_623_104L);
        assertThat(Sd3TransformerGraph.build(cfg, WEIGHTS, DType.FP16).parameterCount() - buffer).isEqualTo(expected);
    }

    /**
     * T5 v1.1 XXL's encoder (d_model 4096, d_kv 64 x 64 heads, d_ff 10240, 24 layers, vocabulary 32,128):
     * shared 32,128 * 4096, per block q/k/v/o 4 * 4096^2 + two norms 2 * 4096 + wi_0/wi_1/wo 3 * 4096 * 10240,
     * the relative bias 32 * 64 and the final norm 4096: 4,762,310,656, transformers' count for
     * {@code T5EncoderModel}; SD 3's VAE: 16 latent channels and no quant convs change SDXL's VAE to
     * an encoder of 34,274,208 and a decoder of 49,545,475 (83,819,683 together, diffusers' count).
     */
    @Test
    void sd3TextEncoderAndVaeMatchTheReleasedModels() {
        FamilyPreset sd3 = FamilyPreset.of(Family.SD3, Scale.FULL);
        long block = 4 * 4096L * 4096 + 2 * 4096 + 3 * 4096L * 10240;
        assertThat(T5EncoderGraph.build(sd3.textEncoder3(), WEIGHTS, DType.FP16).parameterCount())
                .isEqualTo(32_128L * 4096 + 24 * block + 32 * 64 + 4096).isEqualTo(4_762_310_656L);
        assertThat(VaeGraphs.encoder(sd3.vae(), WEIGHTS, DType.FP16).parameterCount()).isEqualTo(34_274_208L);
        assertThat(VaeGraphs.decoder(sd3.vae(), WEIGHTS, DType.FP16).parameterCount()).isEqualTo(49_545_475L);
        assertThat(clip(sd3.textEncoder())).as("CLIP-L with projection").isEqualTo(123_650_304L);
        assertThat(clip(sd3.textEncoder2())).isEqualTo(694_659_840L);
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
