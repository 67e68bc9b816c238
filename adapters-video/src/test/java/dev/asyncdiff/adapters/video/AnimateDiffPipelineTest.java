package dev.asyncdiff.adapters.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.VideoOptions;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AnimateDiff text-to-video on the tiny synthetic folder: clips, frame layout, every strategy, bad input. */
class AnimateDiffPipelineTest {
    @TempDir
    Path cache;

    private static GenerationRequest request(int frames) {
        return GenerationRequest.builder("a boat on a lake").steps(4).seed(11).size(64, 64)
                .textToVideo(VideoOptions.DEFAULT.withFrames(frames).withFps(8)).build();
    }

    @Test
    void makesAClipOfFramesInOrder() {
        Engine engine = VideoFixtures.engine(1, cache);
        List<int[]> decoded = new ArrayList<>();
        GenerationRequest request = GenerationRequest.builder("a boat on a lake").steps(4).seed(11).size(64, 64)
                .textToVideo(VideoOptions.DEFAULT.withFrames(3).withFps(8)).listener(new GenerationListener() {
                    @Override
                    public void onFramesDecoded(int done, int total) {
                        decoded.add(new int[] {done, total});
                    }
                }).build();
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.ANIMATEDIFF))) {
            assertThat(pipeline).isInstanceOf(AnimateDiffPipeline.class);
            assertThat(pipeline.requestKinds()).isEqualTo(Set.of(RequestKind.TEXT_TO_VIDEO));
            GenerationResult result = pipeline.generate(request);
            assertThat(result.video()).isTrue();
            assertThat(result.fps()).isEqualTo(8);
            assertThat(result.clips()).hasSize(1);
            assertThat(result.clips().get(0)).hasSize(3).allSatisfy(frame -> {
                assertThat(frame.getWidth()).isEqualTo(64);
                assertThat(frame.getHeight()).isEqualTo(64);
            });
            assertThat(result.parameters()).singleElement().asString().contains("Frames: 3", "FPS: 8.0");
            assertThat(decoded).extracting(d -> d[0]).containsExactly(3);
            try (PipelineOutput out = pipeline.run(request)) {
                assertThat(out.latents().shape()).containsExactly(1, 4, 3, 8, 8);
                assertThat(out.pixels().shape()).containsExactly(3, 3, 64, 64);
                float[] pixels = out.pixels().toFloatArray();
                int perFrame = pixels.length / 3;
                assertThat(java.util.Arrays.copyOfRange(pixels, 0, perFrame))
                        .as("frames differ").isNotEqualTo(java.util.Arrays.copyOfRange(pixels, perFrame, 2 * perFrame));
            }
        }
    }

    @Test
    void aBatchOfClipsIsEachClipAlone() {
        Engine engine = VideoFixtures.engine(1, cache);
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.ANIMATEDIFF))) {
            float[] alone;
            try (PipelineOutput out = pipeline.run(request(3))) {
                alone = out.latents().toFloatArray();
            }
            GenerationRequest two = GenerationRequest.builder("a boat on a lake").steps(4).seed(11).size(64, 64)
                    .numImages(2).textToVideo(VideoOptions.DEFAULT.withFrames(3).withFps(8)).build();
            try (PipelineOutput out = pipeline.run(two)) {
                assertThat(out.latents().shape()).containsExactly(2, 4, 3, 8, 8);
                assertThat(out.pixels().shape()).containsExactly(6, 3, 64, 64);
                float[] batch = out.latents().toFloatArray();
                assertThat(relativeL2(java.util.Arrays.copyOfRange(batch, 0, alone.length), alone)).isLessThan(1e-5);
            }
        }
    }

    @Test
    void decodeChunksBoundTheBatchButNotTheFrames() {
        Engine engine = VideoFixtures.engine(1, cache);
        List<Integer> decoded = new ArrayList<>();
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.ANIMATEDIFF))) {
            float[] whole;
            try (PipelineOutput out = pipeline.run(request(3))) {
                whole = out.pixels().toFloatArray();
            }
            GenerationRequest chunked = GenerationRequest.builder("a boat on a lake").steps(4).seed(11).size(64, 64)
                    .textToVideo(VideoOptions.DEFAULT.withFrames(3).withFps(8).withDecodeChunkSize(2))
                    .listener(new GenerationListener() {
                        @Override
                        public void onFramesDecoded(int done, int total) {
                            decoded.add(done);
                        }
                    }).build();
            try (PipelineOutput out = pipeline.run(chunked)) {
                float[] pixels = out.pixels().toFloatArray();
                assertThat(AnimateDiffPipelineTest.relativeL2(pixels, whole)).isLessThan(1e-5);
            }
            assertThat(decoded).containsExactly(2, 3);
        }
    }

    @Test
    void everyStrategyRunsAndTheFrameCountRebindsTheSplit() {
        Engine engine = VideoFixtures.engine(4, cache);
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.ANIMATEDIFF))) {
            float[] sequential;
            try (PipelineOutput out = pipeline.run(request(3))) {
                sequential = out.latents().toFloatArray();
            }
            for (AsyncConfig config : List.of(new AsyncConfig(2, 1, 1, false), new AsyncConfig(2, 2, 1, false),
                    new AsyncConfig(3, 1, 1, false), new AsyncConfig(4, 1, 1, false),
                    new AsyncConfig(3, 1, 4, false))) {
                pipeline.setAsyncConfig(config);
                try (PipelineOutput out = pipeline.run(request(3))) {
                    assertThat(out.latents().shape()).as(config.toString()).containsExactly(1, 4, 3, 8, 8);
                    float[] latents = out.latents().toFloatArray();
                    if (config.warmUp() >= 4) {   // every step sequential: the split components chain exactly
                        assertThat(relativeL2(latents, sequential)).as(config.toString()).isLessThan(1e-4);
                    } else {
                        assertThat(latents).as(config.toString()).isNotEqualTo(sequential);
                    }
                }
            }
            pipeline.setAsyncConfig(new AsyncConfig(2, 1, 1, false));
            try (PipelineOutput out = pipeline.run(request(5))) {
                assertThat(out.latents().shape()).containsExactly(1, 4, 5, 8, 8);
            }
        }
    }

    @Test
    void refusesTooManyFramesImagesAndOddSizes() {
        Engine engine = VideoFixtures.engine(1, cache);
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.ANIMATEDIFF))) {
            assertThatThrownBy(() -> pipeline.generate(request(33))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("33 frames").hasMessageContaining("at most 32");
            assertThatThrownBy(() -> pipeline.generate(GenerationRequest.builder("x").size(64, 64).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("text-to-video")
                    .hasMessageContaining("not text-to-image");
            assertThatThrownBy(() -> pipeline.generate(GenerationRequest.builder("x").size(60, 64)
                    .textToVideo(VideoOptions.DEFAULT.withFrames(2)).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("60x64")
                    .hasMessageContaining("multiples of");
        }
    }

    static double relativeL2(float[] a, float[] b) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < a.length; i++) {
            diff += (a[i] - b[i]) * (double) (a[i] - b[i]);
            norm += b[i] * (double) b[i];
        }
        return Math.sqrt(diff / norm);
    }
}
