package dev.asyncdiff.synthetic;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The architectures of one family's models at one scale. {@code FULL} holds the released models'
 * real hyper-parameters; {@code TINY} and {@code SMALL} shrink widths and depths but keep every
 * block type and the family's structure (levels, attention placement, per-block transformer depth,
 * projections, SDXL's add_embedding).
 *
 * @param textEncoder  {@code text_encoder}
 * @param textEncoder2 {@code text_encoder_2} (SDXL only, else {@code null})
 * @param unet         {@code unet}
 * @param vae          {@code vae_encoder} and {@code vae_decoder}
 */
public record FamilyPreset(ClipTextConfig textEncoder, ClipTextConfig textEncoder2, UNetConfig unet,
                           VaeConfig vae) {
    /** Vocabulary of the real CLIP tokenizer. */
    public static final int CLIP_VOCAB = 49408;
    /** Default vocabulary of the tiny text encoders (a tokenizer may replace it via {@link ClipTextConfig#withVocabSize}). */
    public static final int TINY_VOCAB = 1000;
    /** The UNet sample size of every tiny model: 32 latents, so 256×256 images by default. */
    public static final int TINY_SAMPLE = 32;
    private static final int SEQUENCE = 77;
    private static final double SD_SCALING = 0.18215;
    private static final double SDXL_SCALING = 0.13025;

    public FamilyPreset {
        Objects.requireNonNull(textEncoder, "textEncoder");
        Objects.requireNonNull(unet, "unet");
        Objects.requireNonNull(vae, "vae");
        int context = textEncoder.hiddenSize() + (textEncoder2 == null ? 0 : textEncoder2.hiddenSize());
        if (context != unet.crossAttentionDim()) {
            throw new IllegalArgumentException("unet cross_attention_dim " + unet.crossAttentionDim()
                    + " must equal the text encoders' hidden sizes together, " + context);
        }
        if (unet.hasAddEmbedding() && (textEncoder2 == null || textEncoder2.projectionDim() != unet.textEmbedsDim())) {
            throw new IllegalArgumentException("SDXL's add_embedding takes text_encoder_2's projection of width "
                    + unet.textEmbedsDim());
        }
    }

    /** The preset of {@code family} at {@code scale}. */
    public static FamilyPreset of(Family family, Scale scale) {
        return switch (family) {
            case SD15 -> sd15(scale);
            case SD21 -> sd21(scale);
            case SDXL -> sdxl(scale);
        };
    }

    /** This preset with every text encoder's vocabulary set to {@code vocabSize}. */
    public FamilyPreset withVocabSize(int vocabSize) {
        return new FamilyPreset(textEncoder.withVocabSize(vocabSize),
                textEncoder2 == null ? null : textEncoder2.withVocabSize(vocabSize), unet, vae);
    }

    private static FamilyPreset sd15(Scale scale) {
        return switch (scale) {
            case TINY -> new FamilyPreset(clip(TINY_VOCAB, 32, 2, 4, "quick_gelu", 32, false, false), null,
                    sdUnet(TINY_SAMPLE, List.of(32, 32, 64, 64), 1, 32, List.of(2, 2, 2, 2), false, false),
                    vae(TINY_SAMPLE * 8, List.of(32, 32, 64, 64), 1, SD_SCALING, false));
            case SMALL -> new FamilyPreset(clip(CLIP_VOCAB, 128, 4, 4, "quick_gelu", 128, false, false), null,
                    sdUnet(64, List.of(32, 64, 128, 128), 1, 128, List.of(1, 1, 1, 1), false, false),
                    vae(512, List.of(32, 64, 128, 128), 1, SD_SCALING, false));
            case FULL -> new FamilyPreset(clip(CLIP_VOCAB, 768, 12, 12, "quick_gelu", 768, false, false), null,
                    sdUnet(64, List.of(320, 640, 1280, 1280), 2, 768, List.of(8, 8, 8, 8), false, false),
                    vae(512, List.of(128, 256, 512, 512), 2, SD_SCALING, false));
        };
    }

    private static FamilyPreset sd21(Scale scale) {
        return switch (scale) {
            case TINY -> new FamilyPreset(clip(TINY_VOCAB, 32, 2, 4, "gelu", 32, false, false), null,
                    sdUnet(TINY_SAMPLE, List.of(32, 32, 64, 64), 1, 32, List.of(2, 2, 4, 4), true, true),
                    vae(TINY_SAMPLE * 8, List.of(32, 32, 64, 64), 1, SD_SCALING, false));
            case SMALL -> new FamilyPreset(clip(CLIP_VOCAB, 128, 4, 4, "gelu", 128, false, false), null,
                    sdUnet(96, List.of(32, 64, 128, 128), 1, 128, List.of(1, 2, 4, 4), true, true),
                    vae(768, List.of(32, 64, 128, 128), 1, SD_SCALING, false));
            case FULL -> new FamilyPreset(clip(CLIP_VOCAB, 1024, 23, 16, "gelu", 512, false, false), null,
                    sdUnet(96, List.of(320, 640, 1280, 1280), 2, 1024, List.of(5, 10, 20, 20), true, true),
                    vae(768, List.of(128, 256, 512, 512), 2, SD_SCALING, false));
        };
    }

    private static FamilyPreset sdxl(Scale scale) {
        return switch (scale) {
            case TINY -> new FamilyPreset(clip(TINY_VOCAB, 32, 2, 4, "quick_gelu", 32, false, true),
                    clip(TINY_VOCAB, 32, 2, 4, "gelu", 32, true, true),
                    xlUnet(TINY_SAMPLE, List.of(32, 64, 64), 1, 64, List.of(2, 4, 4), List.of(1, 1, 2), 8, 32),
                    vae(TINY_SAMPLE * 8, List.of(32, 32, 64, 64), 1, SDXL_SCALING, true));
            case SMALL -> new FamilyPreset(clip(CLIP_VOCAB, 128, 4, 4, "quick_gelu", 128, false, true),
                    clip(CLIP_VOCAB, 128, 4, 4, "gelu", 128, true, true),
                    xlUnet(128, List.of(32, 64, 128), 1, 256, List.of(1, 2, 4), List.of(1, 2, 4), 32, 128),
                    vae(1024, List.of(32, 64, 128, 128), 1, SDXL_SCALING, true));
            case FULL -> new FamilyPreset(clip(CLIP_VOCAB, 768, 12, 12, "quick_gelu", 768, false, true),
                    clip(CLIP_VOCAB, 1280, 32, 20, "gelu", 1280, true, true),
                    xlUnet(128, List.of(320, 640, 1280), 2, 2048, List.of(5, 10, 20), List.of(1, 2, 10), 256, 1280),
                    vae(1024, List.of(128, 256, 512, 512), 2, SDXL_SCALING, true));
        };
    }

    private static ClipTextConfig clip(int vocab, int hidden, int layers, int heads, String act, int projection,
                                       boolean withProjection, boolean hiddenStates) {
        return new ClipTextConfig(vocab, hidden, 4 * hidden, layers, heads, SEQUENCE, act, 1e-5, projection,
                withProjection, hiddenStates);
    }

    private static UNetConfig sdUnet(int sampleSize, List<Integer> channels, int layersPerBlock, int crossDim,
                                     List<Integer> heads, boolean linearProjection, boolean upcastAttention) {
        List<String> down = new ArrayList<>(Collections.nCopies(channels.size() - 1, UNetConfig.CROSS_DOWN));
        down.add(UNetConfig.PLAIN_DOWN);
        return new UNetConfig(sampleSize, 4, 4, channels, down, mirror(down), layersPerBlock, crossDim, heads,
                Collections.nCopies(channels.size(), 1), linearProjection, upcastAttention, 32, 1e-5, 0, 0,
                SEQUENCE);
    }

    private static UNetConfig xlUnet(int sampleSize, List<Integer> channels, int layersPerBlock, int crossDim,
                                     List<Integer> heads, List<Integer> depths, int timeEmbedDim, int textEmbedsDim) {
        List<String> down = new ArrayList<>();
        down.add(UNetConfig.PLAIN_DOWN);
        down.addAll(Collections.nCopies(channels.size() - 1, UNetConfig.CROSS_DOWN));
        return new UNetConfig(sampleSize, 4, 4, channels, down, mirror(down), layersPerBlock, crossDim, heads, depths,
                true, false, 32, 1e-5, timeEmbedDim, textEmbedsDim, SEQUENCE);
    }

    private static List<String> mirror(List<String> down) {
        List<String> up = new ArrayList<>();
        for (int i = down.size() - 1; i >= 0; i--) {
            up.add(down.get(i).equals(UNetConfig.CROSS_DOWN) ? UNetConfig.CROSS_UP : UNetConfig.PLAIN_UP);
        }
        return up;
    }

    private static VaeConfig vae(int sampleSize, List<Integer> channels, int layersPerBlock, double scaling,
                                 boolean forceUpcast) {
        return new VaeConfig(sampleSize, 3, 3, 4, channels, layersPerBlock, 32, scaling, forceUpcast);
    }
}
