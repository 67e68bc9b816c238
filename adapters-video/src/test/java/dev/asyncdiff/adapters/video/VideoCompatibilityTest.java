package dev.asyncdiff.adapters.video;

import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.tck.AdapterVerification;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;

/** The compatibility kit on both video families: image-to-video (SVD) and text-to-video (AnimateDiff). */
class VideoCompatibilityTest {
    @Nested
    class Svd extends AdapterVerification {
        @Override
        protected String adapterName() {
            return VideoAdapterProvider.NAME;
        }

        @Override
        protected Path modelFolder() {
            return VideoFixtures.folder(Family.SVD);
        }

        /** SVD's maximum guidance, ramped from 1 at the first frame. */
        @Override
        protected double guidance() {
            return 3.0;
        }
    }

    @Nested
    class AnimateDiff extends AdapterVerification {
        @Override
        protected String adapterName() {
            return VideoAdapterProvider.NAME;
        }

        @Override
        protected Path modelFolder() {
            return VideoFixtures.folder(Family.ANIMATEDIFF);
        }
    }
}
