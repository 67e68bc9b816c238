package dev.asyncdiff.adapters.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.StepProgress;
import dev.asyncdiff.api.VideoOptions;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.synthetic.Family;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stable Video Diffusion image-to-video on the tiny synthetic folder. */
class SvdPipelineTest {
    private static final BufferedImage STILL = VideoFixtures.still(64, 64, 8);

    @TempDir
    Path cache;

    private static GenerationRequest.Builder request(VideoOptions options) {
        return GenerationRequest.builder("").steps(4).seed(5).imageToVideo(STILL, options);
    }

    @Test
    void makesAClipFromAStill() {
        Engine engine = VideoFixtures.engine(1, cache);
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.SVD))) {
            assertThat(pipeline).isInstanceOf(SvdPipeline.class);
            assertThat(pipeline.requestKinds()).isEqualTo(Set.of(RequestKind.IMAGE_TO_VIDEO));
            GenerationResult result = pipeline.generate(request(VideoOptions.DEFAULT.withFrames(3)).build());
            assertThat(result.clips()).singleElement().asList().hasSize(3);
            assertThat(result.images().get(0).getWidth()).isEqualTo(64);
            assertThat(result.parameters()).singleElement().asString()
                    .contains("Image to video", "Frames: 3", "Motion bucket: 127", "CFG scale: 1.0 to 3.0");
            try (PipelineOutput out = pipeline.run(request(VideoOptions.DEFAULT.withFrames(3)).build())) {
                assertThat(out.latents().shape()).containsExactly(1, 3, 4, 8, 8);
                assertThat(out.pixels().shape()).containsExactly(3, 3, 64, 64);
            }
        }
    }

    @Test
    void theStillAndItsConditioningSteerTheClip() {
        Engine engine = VideoFixtures.engine(1, cache);
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.SVD))) {
            float[] base = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3)));
            float[] otherStill = latents(pipeline, GenerationRequest.builder("").steps(4).seed(5)
                    .imageToVideo(VideoFixtures.still(64, 64, 30), VideoOptions.DEFAULT.withFrames(3)));
            float[] moreMotion = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3).withMotionBucketId(20)));
            float[] flatGuidance = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3)
                    .withMinGuidanceScale(3.0)));
            assertThat(otherStill).isNotEqualTo(base);
            assertThat(moreMotion).isNotEqualTo(base);
            int perFrame = base.length / 3;
            // the ramp starts at 1 on the first frame: a flat 3 changes it, as it does the others
            assertThat(Arrays.copyOfRange(flatGuidance, 0, perFrame)).isNotEqualTo(Arrays.copyOfRange(base, 0, perFrame));
            float[] unguided = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3)).guidanceScale(1.0));
            float[] rampToOne = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3).withMinGuidanceScale(1.0))
                    .guidanceScale(1.0));
            assertThat(rampToOne).isEqualTo(unguided);
        }
    }

    @Test
    void aBatchOfClipsIsEachClipAlone() {
        Engine engine = VideoFixtures.engine(1, cache);
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.SVD))) {
            float[] alone = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3)));
            float[] second = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3)).seed(6));
            GenerationResult two = pipeline.generate(request(VideoOptions.DEFAULT.withFrames(3)).numImages(2).build());
            assertThat(two.clips()).hasSize(2).allSatisfy(clip -> assertThat(clip).hasSize(3));
            assertThat(two.parameters()).hasSize(2);
            float[] batch = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3)).numImages(2));
            assertThat(AnimateDiffPipelineTest.relativeL2(Arrays.copyOfRange(batch, 0, alone.length), alone))
                    .isLessThan(1e-5);
            assertThat(AnimateDiffPipelineTest.relativeL2(Arrays.copyOfRange(batch, alone.length, batch.length),
                    second)).isLessThan(1e-5);
        }
    }

    @Test
    void decodesInChunksWithProgress() {
        Engine engine = VideoFixtures.engine(1, cache);
        List<Integer> decoded = new ArrayList<>();
        GenerationListener listener = new GenerationListener() {
            @Override
            public void onFramesDecoded(int done, int total) {
                decoded.add(done);
                assertThat(total).isEqualTo(5);
            }
        };
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.SVD))) {
            float[] whole = pixels(pipeline, request(VideoOptions.DEFAULT.withFrames(5)));
            float[] chunked = pixels(pipeline, request(VideoOptions.DEFAULT.withFrames(5).withDecodeChunkSize(2))
                    .listener(listener));
            float[] asOneChunk = pixels(pipeline, request(VideoOptions.DEFAULT.withFrames(5).withDecodeChunkSize(5)));
            assertThat(decoded).containsExactly(2, 4, 5);
            assertThat(asOneChunk).isEqualTo(whole);
            assertThat(chunked).hasSameSizeAs(whole).isNotEqualTo(whole);   // the temporal decoder mixes within a chunk
        }
    }

    @Test
    void everyStrategyRuns() {
        Engine engine = VideoFixtures.engine(4, cache);
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.SVD))) {
            float[] sequential = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3)));
            for (AsyncConfig config : List.of(new AsyncConfig(2, 1, 1, false), new AsyncConfig(2, 2, 1, false),
                    new AsyncConfig(3, 1, 1, false), new AsyncConfig(4, 1, 1, false),
                    new AsyncConfig(2, 1, 4, false))) {
                pipeline.setAsyncConfig(config);
                float[] latents = latents(pipeline, request(VideoOptions.DEFAULT.withFrames(3)));
                if (config.warmUp() >= 4) {
                    assertThat(AnimateDiffPipelineTest.relativeL2(latents, sequential)).as(config.toString())
                            .isLessThan(1e-4);
                } else {
                    assertThat(latents).as(config.toString()).isNotEqualTo(sequential);
                }
            }
        }
    }

    @Test
    void badInputIsRefusedClearly() {
        Engine engine = VideoFixtures.engine(1, cache);
        try (DiffusionPipeline pipeline = engine.open(VideoFixtures.folder(Family.SVD))) {
            assertThatThrownBy(() -> pipeline.generate(GenerationRequest.builder("").steps(2)
                    .imageToVideo(VideoFixtures.still(70, 64, 4), VideoOptions.DEFAULT.withFrames(2)).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the still image")
                    .hasMessageContaining("70x64").hasMessageContaining("multiples of");
            assertThatThrownBy(() -> pipeline.generate(GenerationRequest.builder("a prompt")
                    .textToVideo(VideoOptions.DEFAULT).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("serves image-to-video")
                    .hasMessageContaining("--image");
            CancellationToken token = new CancellationToken();
            assertThatThrownBy(() -> pipeline.generate(request(VideoOptions.DEFAULT.withFrames(2)).cancellation(token)
                    .listener(new GenerationListener() {
                        @Override
                        public void onStep(StepProgress progress) {
                            token.cancel();
                        }
                    }).build())).isInstanceOf(CancellationException.class);
        }
    }

    private static float[] latents(DiffusionPipeline pipeline, GenerationRequest.Builder request) {
        try (PipelineOutput out = pipeline.run(request.build())) {
            return out.latents().toFloatArray();
        }
    }

    private static float[] pixels(DiffusionPipeline pipeline, GenerationRequest.Builder request) {
        try (PipelineOutput out = pipeline.run(request.build())) {
            return out.pixels().toFloatArray();
        }
    }
}
