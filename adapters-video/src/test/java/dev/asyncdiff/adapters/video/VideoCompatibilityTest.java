package dev.asyncdiff.adapters.video;

import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.tck.AdapterVerification;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;

/** The compatibility kit on both video families: image-to-video (SVD) and text-to-video (AnimateDiff). */
class VideoCompatibilityTest {
    abstract static class VideoFamilyKit extends AdapterVerification {
        abstract Family family();

        @Override
        protected String adapterName() {
            return VideoAdapterProvider.NAME;
        }

        @Override
        protected Path modelFolder() {
            return VideoFixtures.folder(family());
        }
    }

    @Nested
    class Svd extends VideoFamilyKit {
        @Override
        Family family() {
            return Family.SVD;
        }

        /**
         * SVD's default step count: EDM's Karras sigmas fall from 700 to 0.002, so over the kit's usual 12 steps
         * consecutive steps are too far apart for any schedule that reuses the previous step's activations.
         */
        @Override
        protected int steps() {
            return 25;
        }

        /** SVD's maximum guidance, ramped from 1 at the first frame. */
        @Override
        protected double guidance() {
            return 3.0;
        }
    }

    @Nested
    class AnimateDiff extends VideoFamilyKit {
        @Override
        Family family() {
            return Family.ANIMATEDIFF;
        }
    }
}
